//! `lifeline recover TYPE` and `lifeline recover resume INC-…`: the
//! runbook's sequence — authority check, the step lock, the incident, the
//! runbook itself, validation of everything, then optionally commit, push
//! and the follow-up issue — and every audit entry `recover` writes: the
//! refusal, one entry per step (with the incident ID), and one per
//! workflow `resume` re-enables. The runbooks are in [`crate::recover`].

use crate::audit::{self, Event};
use crate::ci::Env;
use crate::error::{Error, Result};
use crate::recover::incident::{self, Incident};
use crate::recover::{
    self, RecoverOptions, RecoverOutcome, Session, authority, publish, workflows,
};
use crate::workspace::Workspace;

/// Who runs the runbook: a re-run by someone else is that someone, and the
/// incident names them.
fn operator(ws: &Workspace, env: &dyn Env) -> String {
    match (env.var("GITHUB_ACTOR"), env.var("GITHUB_TRIGGERING_ACTOR")) {
        (Some(actor), Some(triggering)) if !actor.eq_ignore_ascii_case(&triggering) => {
            format!("github:{triggering}")
        }
        _ => crate::ci::actor(env, ws.git.as_ref()),
    }
}

/// Runs a runbook from authority check to follow-up issue. `waiting` hears
/// once a second while a guarded step holds the step lock.
pub(crate) fn run(
    ws: &Workspace,
    env: &dyn Env,
    options: &RecoverOptions,
    waiting: &mut dyn FnMut(&crate::restore::step_lock::Busy),
) -> Result<RecoverOutcome> {
    let operator = operator(ws, env);
    let mut warnings = Vec::new();
    if let Err(refusal) = authority::check(ws, env, options, &operator, &mut warnings) {
        audit::record(
            ws,
            env,
            &Event::new("recover", options.kind.as_str())
                .failure(refusal.to_string())
                .detail("severity", options.severity.as_str())
                .detail("refused_actor", operator.clone()),
        )?;
        return Err(refusal);
    }
    // One guarded step at a time: a runbook waits for a running step (whose
    // rollback would erase the repair), and a step waits for the runbook.
    // Its own restore runs inside this lock.
    let _step = if options.dry_run {
        None
    } else {
        Some(crate::restore::step_lock::hold(
            ws,
            options.wait,
            "recover",
            waiting,
        )?)
    };
    let records_before = publish::Records::snapshot(ws);
    let detected_at = incident::detected_at_from_env(env)?;
    let incident = if options.dry_run {
        None
    } else {
        let mut incident = Incident::open(
            ws,
            options.severity,
            options.kind.as_str(),
            &operator,
            options.checkpoint.as_deref(),
        )?;
        if detected_at.is_some() {
            incident.detected_at = detected_at;
            incident.save(ws)?;
        }
        Some(incident)
    };
    let journal = |incident: &Incident, step: &str| {
        audit::record(
            ws,
            env,
            &Event::new("recover", options.kind.as_str())
                .detail("incident", incident.id.clone())
                .detail("step", step),
        )
        .map(|_| ())
    };
    let mut session = Session {
        ws,
        env,
        options,
        incident,
        steps: Vec::new(),
        records_before,
        plan: None,
        journal: &journal,
    };
    let mut outcome = match recover::runbook(&mut session) {
        Ok(o) => o,
        Err(e) => {
            let _ = session.step(format!("runbook stopped with an error: {e}"));
            if let Some(incident) = session.incident.as_mut() {
                let _ = incident.finish(ws, "failed", false);
            }
            return Err(e);
        }
    };
    if options.dry_run {
        return Ok(RecoverOutcome {
            incident: None,
            record: None,
            outcome: "planned".into(),
            steps: session.steps,
            valid: true,
            warnings,
            commit: None,
            follow_up_issue: None,
            plan: session.plan,
        });
    }
    let valid = recover::validate_all(&mut session, "post-recovery")?;
    if !valid && outcome == "recovered" {
        outcome = "failed".into();
    }
    let mut commit = None;
    let mut follow_up = None;
    if options.commit && outcome == "recovered" {
        commit = publish::commit(&mut session)?;
        if options.push && commit.is_some() && !publish::push(&mut session)? {
            outcome = "stopped".into();
        }
    }
    {
        let incident = session.incident.as_mut().expect("not a dry run");
        // While workflows stay disabled the incident stays open;
        // `recover resume` resolves it.
        let resolved = outcome == "recovered" && incident.disabled.is_empty();
        incident.finish(ws, &outcome, resolved)?;
    }
    if options.follow_up_issue {
        follow_up = publish::follow_up_issue(&mut session, &outcome)?;
    }
    let incident = session.incident.as_ref().expect("not a dry run");
    Ok(RecoverOutcome {
        incident: Some(incident.id.clone()),
        record: Some(incident.rel_path()),
        outcome,
        steps: session.steps.clone(),
        valid,
        warnings,
        commit,
        follow_up_issue: follow_up,
        plan: None,
    })
}

/// `lifeline recover resume INC-…`: re-enables exactly what the incident
/// disabled.
pub(crate) fn resume(
    ws: &Workspace,
    env: &dyn Env,
    id: &str,
    repo: Option<&str>,
) -> Result<RecoverOutcome> {
    let (_, mut incident) = Incident::find(ws, id)?;
    let mut steps = Vec::new();
    let disabled = incident.disabled.clone();
    if disabled.is_empty() {
        return Err(Error::usage(
            format!("incident {} disabled nothing", incident.id),
            Some(
                "only sync-failure-cascade and complete-automation-failure disable workflows"
                    .into(),
            ),
        ));
    }
    let client = workflows::api(ws, env, repo);
    for d in &disabled {
        let text = workflows::enable(ws, client.as_ref(), d)?;
        incident.step(ws, &text)?;
        audit::record(
            ws,
            env,
            &Event::new("recover", "resume")
                .detail("incident", incident.id.clone())
                .detail("step", text.clone()),
        )?;
        steps.push(text);
    }
    incident.disabled.clear();
    if incident.outcome.as_deref() == Some("recovered") {
        incident.status = "resolved".into();
        incident.resolved_at = Some(jiff::Timestamp::now());
        incident.step(ws, "automation re-enabled; incident resolved")?;
    } else {
        incident.save(ws)?;
    }
    Ok(RecoverOutcome {
        incident: Some(incident.id.clone()),
        record: Some(incident.rel_path()),
        outcome: "resumed".into(),
        steps,
        valid: true,
        warnings: Vec::new(),
        commit: None,
        follow_up_issue: None,
        plan: None,
    })
}

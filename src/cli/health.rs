//! `lifeline health`: parses, calls `commands::health`, renders.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::Output;
use super::output::{Format, formats};
use crate::ci::{self, Env};
use crate::commands::health::{self, HealthOptions};
use crate::config::{HumanDuration, Severity};
use crate::error::Result;
use crate::health::{HealthReport, Status, alert::AlertAction};
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Deliver findings as GitHub issues (one per problem, updated, closed when it clears)
    #[arg(long, value_enum, default_value_t = AlertMode::None)]
    pub alert: AlertMode,
    /// Exit 1 when a finding is at this severity or worse
    #[arg(long, value_name = "P0|P1|P2|P3", default_value = "P1")]
    pub fail_on: Severity,
    /// Output format [default: github inside GitHub Actions, else text]
    #[arg(long, value_parser = formats(&[Format::Text, Format::Json, Format::Github]))]
    pub format: Option<Format>,
    /// Repository `owner/name` [default: GITHUB_REPOSITORY, lifeline.toml, the origin remote]
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// Longest wait for a GitHub rate limit to reset, e.g. 60s, 5m
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub max_wait: HumanDuration,
    /// Local checks only; no GitHub requests
    #[arg(long, conflicts_with = "alert")]
    pub offline: bool,
    /// Longest time for the whole conversation with GitHub (every request, retry and wait)
    #[arg(long, value_name = "DURATION", default_value = "120s")]
    pub timeout: HumanDuration,
    /// Exit code when nothing failing was seen but a check could not run
    #[arg(long, value_enum, default_value_t = OnUnknown::Fail)]
    pub on_unknown: OnUnknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnUnknown {
    /// Exit 1: "healthy" means every check ran
    Fail,
    /// Exit 0; the report still says what could not be checked
    Pass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlertMode {
    /// Report only
    None,
    /// Open / comment / escalate / close GitHub issues
    Github,
}

pub(crate) fn run(ws: &Workspace, env: &dyn Env, out: &Output, args: HealthArgs) -> Result<i32> {
    let options = HealthOptions {
        repo: args.repo,
        alert: args.alert == AlertMode::Github,
        max_wait: Duration::from_secs(args.max_wait.as_secs()),
        offline: args.offline,
        timeout: args.timeout.as_duration(),
    };
    let mut progress = Progress::new(!out.quiet && std::io::stderr().is_terminal());
    let report = health::run_with_progress(ws, env, &options, &mut |step| progress.show(step));
    progress.clear();
    let report = report?;
    let in_actions = ci::in_github_actions(env);
    let format = args.format.unwrap_or(if in_actions {
        Format::Github
    } else {
        Format::Text
    });
    let status = report.status(args.fail_on);
    let healthy = status == Status::Healthy;
    let text = match format {
        Format::Json => {
            let mut v = serde_json::to_value(&report).expect("report serializes");
            v["healthy"] = healthy.into();
            v["status"] = status.as_str().into();
            v["fail_on"] = args.fail_on.as_str().into();
            serde_json::to_string_pretty(&v).expect("json") + "\n"
        }
        Format::Github => github(&report, args.fail_on),
        _ => text(&report, args.fail_on),
    };
    out.print(|w| w.write_all(crate::redact::redact(&text).as_bytes()))?;
    if in_actions {
        ci::append_step_summary(env, &markdown(&report, args.fail_on))?;
        ci::set_outputs(
            env,
            &[
                ("healthy", healthy.to_string()),
                ("status", status.as_str().to_string()),
                (
                    "worst_severity",
                    report.worst().map_or("none".into(), |s| s.to_string()),
                ),
                ("findings", report.findings.len().to_string()),
            ],
        )?;
    }
    let fails = match status {
        Status::Healthy => false,
        Status::Unhealthy => true,
        Status::Unknown => args.on_unknown == OnUnknown::Fail,
    };
    // An alert that could not be delivered means nobody was told.
    Ok(if fails || !report.alert_failures.is_empty() {
        1
    } else {
        0
    })
}

/// One line on stderr saying what health is waiting for, rewritten in
/// place; only on a terminal, so logs and pipes never see it.
struct Progress {
    on: bool,
    shown: bool,
}

impl Progress {
    fn new(on: bool) -> Progress {
        Progress { on, shown: false }
    }

    fn show(&mut self, step: &str) {
        if self.on {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2Klifeline health: {step}…");
            let _ = err.flush();
            self.shown = true;
        }
    }

    fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

fn action_text(a: &AlertAction) -> String {
    match a {
        AlertAction::Opened { fingerprint, issue } => format!("opened #{issue} for {fingerprint}"),
        AlertAction::Commented { fingerprint, issue } => {
            format!("commented on #{issue} ({fingerprint} persists)")
        }
        AlertAction::Escalated { fingerprint, issue } => {
            format!("escalated #{issue} ({fingerprint} past its deadline)")
        }
        AlertAction::Unchanged { fingerprint, issue } => {
            format!("#{issue} already open for {fingerprint}")
        }
        AlertAction::Resolved { fingerprint, issue } => {
            format!("closed #{issue} ({fingerprint} cleared)")
        }
    }
}

fn text(report: &HealthReport, fail_on: Severity) -> String {
    let mut s = String::new();
    let repo = report.repo.as_deref().unwrap_or("(local checks only)");
    let verdict = report.status(fail_on).as_str();
    match report.worst() {
        None => {
            let _ = writeln!(s, "{verdict}: {repo}: no findings");
        }
        Some(worst) => {
            let _ = writeln!(
                s,
                "{verdict}: {repo}: {} finding{} (worst {worst}; failing at {fail_on} or worse)",
                report.findings.len(),
                if report.findings.len() == 1 { "" } else { "s" }
            );
        }
    }
    for u in &report.unchecked {
        let _ = writeln!(s, "not checked: {} ({})", u.check, u.reason);
    }
    if let Some(expires) = report.token_expires_at {
        let _ = writeln!(s, "the GitHub token expires at {expires}");
    }
    for f in &report.findings {
        let _ = writeln!(s, "\n{}  {}  {}", f.severity, f.pattern, f.title);
        for e in &f.evidence {
            let _ = writeln!(s, "    - {e}");
        }
        for l in &f.links {
            let _ = writeln!(s, "    - {l}");
        }
        let _ = writeln!(s, "    fix: {}", f.remediation);
    }
    if !report.alerts.is_empty() || !report.alert_failures.is_empty() {
        let _ = writeln!(s, "\nalerts:");
        for a in &report.alerts {
            let _ = writeln!(s, "    {}", action_text(a));
        }
        for failure in &report.alert_failures {
            let _ = writeln!(s, "    NOT DELIVERED: {failure}");
        }
    }
    if report.requests > 0 {
        let _ = writeln!(
            s,
            "\nGitHub: {} requests, {} answered 304 from the cache (not counted against the rate limit)",
            report.requests, report.not_modified
        );
    }
    s
}

fn github(report: &HealthReport, fail_on: Severity) -> String {
    use crate::validate::render::github::{escape_data, escape_property};
    let mut s = String::new();
    for f in &report.findings {
        let level = if f.severity <= Severity::P1 {
            "error"
        } else {
            "warning"
        };
        let mut message = f.title.clone();
        for e in &f.evidence {
            message.push_str(&format!("\n- {e}"));
        }
        message.push_str(&format!("\nfix: {}", f.remediation));
        let _ = writeln!(
            s,
            "::{level} title={}::{}",
            escape_property(&format!("{} {}", f.severity, f.pattern)),
            escape_data(&message)
        );
    }
    for failure in &report.alert_failures {
        let _ = writeln!(
            s,
            "::error title=alert not delivered::{}",
            escape_data(failure)
        );
    }
    // The verdict line and what could not be checked.
    for line in text(report, fail_on).lines().take_while(|l| !l.is_empty()) {
        s.push_str(line);
        s.push('\n');
    }
    s
}

fn markdown(report: &HealthReport, fail_on: Severity) -> String {
    let mut s = String::from("## lifeline health\n\n");
    let status = report.status(fail_on);
    if report.findings.is_empty() && status == Status::Healthy {
        s.push_str("✅ No findings.\n");
    } else {
        let verdict = match status {
            Status::Healthy => "✅ healthy",
            Status::Unhealthy => "❌ unhealthy",
            Status::Unknown => "❔ unknown: not every check ran",
        };
        let _ = writeln!(s, "{verdict} (failing at {fail_on} or worse)\n");
        s.push_str("| Severity | Pattern | Finding | Fix |\n|---|---|---|---|\n");
        for f in &report.findings {
            let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} |",
                f.severity,
                f.pattern,
                cell(&f.title),
                cell(&f.remediation)
            );
        }
    }
    for u in &report.unchecked {
        let _ = writeln!(
            s,
            "- not checked: {} ({})",
            crate::github::markdown::inert(&u.check),
            crate::github::markdown::inert(&u.reason)
        );
    }
    for a in &report.alerts {
        let _ = writeln!(s, "- {}", action_text(a));
    }
    for failure in &report.alert_failures {
        let _ = writeln!(
            s,
            "- ❌ alert not delivered: {}",
            crate::github::markdown::inert(failure)
        );
    }
    s.push('\n');
    s
}

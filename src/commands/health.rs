//! `lifeline health`: run the detectors, optionally sync alerts, and
//! write the audit entry of a run that changed an alert
//! ([`HealthRecord`], which `lifeline report` reads back).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::ci::Env;
use crate::error::{Error, Result};
use crate::github::{self, ApiError, Client, ClientOptions, RepoName};
use crate::health::record::{Detection, HealthRecord};
use crate::health::{HealthReport, alert, detect};
use crate::workspace::Workspace;

#[derive(Debug, Clone)]
pub struct HealthOptions {
    /// `owner/name`, overriding GITHUB_REPOSITORY and the origin remote.
    pub repo: Option<String>,
    /// Open, update and close alert issues.
    pub alert: bool,
    /// The longest wait for a rate limit to reset.
    pub max_wait: Duration,
    /// Skip the GitHub detectors (local checks only).
    pub offline: bool,
    /// The whole conversation with GitHub ends by then: every request,
    /// retry and wait.
    pub timeout: Duration,
}

impl Default for HealthOptions {
    fn default() -> Self {
        HealthOptions {
            repo: None,
            alert: false,
            max_wait: Duration::from_secs(60),
            offline: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The default of `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The author of what `GITHUB_TOKEN` creates. `GET /user` is refused to
/// installation tokens, so this is who lifeline is when it is refused.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

/// Where conditional-request ETags are kept: inside the git directory when
/// there is one (so `git add .` in a bot never commits the cache), else
/// `.lifeline/cache/github`.
pub fn cache_dir(ws: &Workspace) -> PathBuf {
    ws.git
        .as_ref()
        .and_then(|g| {
            g.run(["rev-parse", "--git-path", "lifeline/cache/github"])
                .ok()
        })
        .map(|p| ws.root.join(p.trim()))
        .unwrap_or_else(|| ws.root.join(".lifeline/cache/github"))
}

/// Revisions of a file looked at to find when it broke.
const BROKEN_SINCE_REVISIONS: usize = 50;

/// When an invalid file broke, where git can tell: the file is committed
/// as it is on disk, and history holds a valid revision; the failure began
/// with the commit after it (its committer time). `None` otherwise (an
/// uncommitted change, no valid revision within reach, no git): unknown,
/// not guessed.
fn broken_since(ws: &Workspace, path: &str) -> Option<Timestamp> {
    let git = ws.git.as_ref()?;
    let validator = crate::validate::protected_targets(&ws.root, &ws.config)
        .ok()?
        .into_iter()
        .find(|t| t.path == path)?
        .validator;
    let spec = format!(":(literal){path}");
    let dirty = git
        .run(["status", "--porcelain", "--", spec.as_str()])
        .ok()?;
    if !dirty.trim().is_empty() {
        return None;
    }
    let log = git
        .run([
            "log",
            &format!("--max-count={BROKEN_SINCE_REVISIONS}"),
            "--format=%H %cI",
            "--",
            spec.as_str(),
        ])
        .ok()?;
    let mut oldest_broken: Option<Timestamp> = None;
    for line in log.lines() {
        let (sha, time) = line.split_once(' ')?;
        let valid = git
            .run_bytes(["show", &format!("{sha}:{path}")], None)
            .is_ok_and(|bytes| crate::validate::validate_bytes(path, &bytes, validator).valid);
        if valid {
            return oldest_broken;
        }
        oldest_broken = Some(time.parse().ok()?);
    }
    None
}

/// Runs the detectors (and syncs the alerts when asked: that needs a
/// token, else an environment error before anything runs).
pub fn run(ws: &Workspace, env: &dyn Env, options: &HealthOptions) -> Result<HealthReport> {
    run_with_progress(ws, env, options, &mut |_| {})
}

/// [`run`], telling `progress` what it is doing (`health` shows it on a
/// terminal while it waits for GitHub).
pub fn run_with_progress(
    ws: &Workspace,
    env: &dyn Env,
    options: &HealthOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<HealthReport> {
    if options.alert && github::token(env).is_none() {
        return Err(Error::environment(
            "--alert github needs a token in GITHUB_TOKEN or GH_TOKEN",
            Some("in a workflow: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` with `permissions: issues: write`".into()),
        ));
    }
    let started = Instant::now();
    let mut report = HealthReport::default();
    let config = &ws.config;
    progress("validating the protected files");
    report.coverage.files = detect::files(&ws.root, config, &mut report.findings);
    for f in report.findings.iter_mut() {
        if let Some(path) = f.fingerprint.strip_prefix("invalid-file:") {
            f.failed_at = broken_since(ws, path);
        }
    }
    progress("verifying the audit trail");
    report.coverage.audit = detect::audit(ws, &mut report.findings);
    progress("listing checkpoints");
    report.coverage.checkpoints = detect::checkpoints(ws, Timestamp::now(), &mut report.findings);
    if !report.coverage.checkpoints {
        report.unchecked.push(crate::health::Unchecked {
            check: "checkpoints".into(),
            reason: "the checkpoint store could not be read (`lifeline checkpoint list` says why)"
                .into(),
        });
    }
    if options.offline {
        report.sort();
        return Ok(report);
    }
    let repo = match RepoName::resolve(
        options.repo.as_deref(),
        env,
        config.github.repo.as_deref(),
        ws.git.as_ref(),
    ) {
        Ok(r) => r,
        Err(why) if options.alert => {
            return Err(Error::usage(
                why,
                Some("--alert github needs the repository; or run with --offline".into()),
            ));
        }
        Err(why) => {
            return Err(Error::environment(
                format!("cannot run the GitHub checks: {why}"),
                Some("pass --repo owner/name, or --offline for the local checks only".into()),
            ));
        }
    };
    report.repo = Some(repo.to_string());
    let client = Client::new(ClientOptions {
        api_url: github::api_url(env, config.github.api_url.as_deref()),
        token: github::token(env),
        max_wait: options.max_wait,
        cache_dir: Some(cache_dir(ws)),
        deadline: Some(started + options.timeout),
        ..ClientOptions::default()
    });
    let now = Timestamp::now();
    // A 401 ends the conversation: every other request would get one too.
    let mut unauthorized = false;
    progress("reading workflow runs from GitHub");
    let branches = if config.health.branches.is_empty() {
        detect::default_branch(&client, &repo).map(|b| vec![b])
    } else {
        Ok(config.health.branches.clone())
    };
    match branches.and_then(|branches| {
        detect::workflows(&client, &repo, config, &branches, now, &mut report.findings)
    }) {
        Ok(()) => report.coverage.workflows = true,
        Err(e) => {
            unauthorized = matches!(e, ApiError::Unauthorized { .. });
            report.could_not_check(config, "workflow runs", &e);
        }
    }
    if !unauthorized {
        progress("reading labels from GitHub");
        match detect::labels(&client, &repo, &ws.root, config, &mut report.findings) {
            Ok(()) => report.coverage.labels = true,
            Err(e) => report.could_not_check(config, "labels", &e),
        }
    }
    let expiration = client.token_expiration();
    report.token_expires_at =
        detect::token_expiry(config, expiration.as_deref(), now, &mut report.findings);
    report.sort();
    if options.alert && !unauthorized {
        progress("updating alert issues on GitHub");
        let settings = alert::AlertSettings {
            policy: &config.severity,
            repeat_interval: config.health.repeat_interval.as_duration(),
            now,
        };
        let synced = alert::sync(
            &client,
            &repo,
            &report.findings,
            &report.coverage,
            &settings,
            &|| identity(&client),
        );
        match synced {
            Ok(outcome) => {
                report.alerts = outcome.actions;
                report.alert_failures = outcome.failures;
            }
            Err(e) => report.alert_failures.push(format!(
                "no alert could be delivered: {}",
                crate::redact::redact(&e.to_string())
            )),
        }
    } else if options.alert {
        report
            .alert_failures
            .push("no alert could be delivered: the token was refused".into());
    }
    let stats = client.stats();
    report.requests = stats.requests;
    report.not_modified = stats.not_modified;
    report.rate_limit_waits = stats.rate_limit_waits;
    if report
        .alerts
        .iter()
        .any(|a| !matches!(a, alert::AlertAction::Unchanged { .. }))
    {
        let record = HealthRecord {
            repo: repo.to_string(),
            findings: report.findings.len(),
            alerts: report.alerts.clone(),
            detections: report
                .findings
                .iter()
                .map(|f| Detection {
                    fingerprint: f.fingerprint.clone(),
                    severity: f.severity,
                    failed_at: f.failed_at,
                    detected_at: now,
                })
                .collect(),
        };
        crate::audit::record(ws, env, &record.event())?;
    }
    Ok(report)
}

/// Who the token acts as: its user's login, or `github-actions[bot]` for
/// an installation token (`GITHUB_TOKEN`), which may not read `/user`.
fn identity(client: &Client) -> std::result::Result<String, ApiError> {
    match client.get("user") {
        Ok(answer) => answer.body["login"]
            .as_str()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .ok_or_else(|| ApiError::Decode {
                path: "user".into(),
                message: "no `login` in the answer".into(),
            }),
        Err(ApiError::Status { status: 403, .. }) => Ok(ACTIONS_BOT.to_string()),
        Err(e) => Err(e),
    }
}

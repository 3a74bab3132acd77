//! The detectors. Each adds findings and says whether it ran to completion.
//!
//! The GitHub detectors ask for fixed URLs (no time in the query) so that
//! an unchanged repository is answered 304 from the ETag cache and costs
//! nothing against the rate limit.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use jiff::Timestamp;
use serde_json::Value;

use super::Finding;
use crate::config::{Config, Pattern, Severity};
use crate::github::{ApiError, Client, RepoName};
use crate::validate;

/// Conclusions that count as failures; `cancelled` and `skipped` do not.
const FAILED: [&str; 3] = ["failure", "timed_out", "startup_failure"];

/// Runs looked at per workflow (the newest trusted ones).
const RUNS_PER_WORKFLOW: usize = 30;

/// Runs read per workflow and branch at most while looking for them
/// (fork runs on a branch of the same name are read and skipped).
const MAX_RUNS_READ: usize = 500;

fn finding(
    config: &Config,
    pattern: Pattern,
    fingerprint: String,
    title: String,
    remediation: &str,
) -> Finding {
    Finding {
        fingerprint,
        pattern,
        severity: severity_of(config, pattern),
        title,
        evidence: Vec::new(),
        links: Vec::new(),
        remediation: remediation.to_string(),
        failed_at: None,
    }
}

/// The configured severity of `pattern`.
pub(crate) fn severity_of(config: &Config, pattern: Pattern) -> Severity {
    config
        .patterns
        .get(&pattern)
        .copied()
        .unwrap_or_else(|| pattern.default_severity())
}

/// Protected files that do not validate: one finding per file, its pattern
/// from the worst rule broken. Never fails: an unreadable file is a finding.
pub(crate) fn files(root: &Path, config: &Config, out: &mut Vec<Finding>) -> bool {
    let report = match validate::protected_targets(root, config)
        .and_then(|targets| validate::validate_targets(&targets))
    {
        Ok(r) => r,
        Err(e) => {
            let mut f = finding(
                config,
                Pattern::Corruption,
                "invalid-file:*".into(),
                "the protected files could not be read".into(),
                "check the repository checkout and permissions",
            );
            f.evidence
                .push(crate::redact::redact(&e.to_string()).into_owned());
            out.push(f);
            return false;
        }
    };
    for file in report.files.iter().filter(|f| !f.valid) {
        let codes: Vec<&str> = file
            .diagnostics
            .iter()
            .filter(|d| d.level == crate::validate::diagnostic::Level::Error)
            .map(|d| d.code)
            .collect();
        let pattern = if codes.contains(&"FILE004") {
            Pattern::MergeConflict
        } else if codes.iter().any(|c| {
            matches!(
                *c,
                "FILE001" | "FILE002" | "FILE003" | "FILE005" | "TASK006"
            )
        }) {
            Pattern::Corruption
        } else if codes.iter().any(|c| c.starts_with("SPRINT")) {
            Pattern::SprintConfigCorruption
        } else {
            Pattern::ParseError
        };
        let mut f = finding(
            config,
            pattern,
            format!("invalid-file:{}", file.path),
            format!(
                "{} is invalid ({} error{})",
                file.path,
                file.errors,
                if file.errors == 1 { "" } else { "s" }
            ),
            "",
        );
        f.remediation = format!(
            "restore the last valid version: `lifeline restore latest-valid --only {}` (or fix the lines named, then `lifeline validate`)",
            file.path
        );
        for d in file
            .diagnostics
            .iter()
            .filter(|d| d.level == crate::validate::diagnostic::Level::Error)
            .take(5)
        {
            let at = d
                .span
                .map(|s| format!("{}:{}:{}", d.path, s.line, s.column))
                .unwrap_or_else(|| d.path.clone());
            f.evidence.push(format!("{} {at}: {}", d.code, d.message));
        }
        if file.errors > 5 {
            f.evidence.push(format!("… and {} more", file.errors - 5));
        }
        out.push(f);
    }
    true
}

/// The audit trail's integrity (`lifeline audit verify`): a broken chain
/// is an `audit-integrity` finding. A fork (merged clones) is not.
pub(crate) fn audit(ws: &crate::workspace::Workspace, out: &mut Vec<Finding>) -> bool {
    let config = &ws.config;
    let report = crate::audit::store::Log::of(ws)
        .and_then(|log| crate::audit::verify::verify(&log, &Default::default()));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            let mut f = finding(
                config,
                Pattern::AuditIntegrity,
                "audit-integrity".into(),
                "the audit trail could not be read".into(),
                "check the audit directory (`lifeline audit verify`)",
            );
            f.evidence
                .push(crate::redact::redact(&e.to_string()).into_owned());
            out.push(f);
            return false;
        }
    };
    if report.status == "invalid" {
        let mut f = finding(
            config,
            Pattern::AuditIntegrity,
            "audit-integrity".into(),
            format!(
                "the audit trail fails verification ({} problem{})",
                report.findings.len(),
                if report.findings.len() == 1 { "" } else { "s" }
            ),
            "treat it as possible tampering: run `lifeline audit verify`, compare with the remote's history (`git log -p -- docs/audit`), and restore the log from git; never edit it by hand",
        );
        for finding in report.findings.iter().take(5) {
            let at = match finding.line {
                Some(line) => format!("{}:{line}", finding.file),
                None => finding.file.clone(),
            };
            f.evidence.push(format!("{at}: {}", finding.message));
        }
        if report.findings.len() > 5 {
            f.evidence
                .push(format!("… and {} more", report.findings.len() - 5));
        }
        out.push(f);
    }
    true
}

/// No valid checkpoint (other than a `pre-restore` safety one) newer than
/// `health.checkpoint_max_age`: a rollback would lose that much.
pub(crate) fn checkpoints(
    ws: &crate::workspace::Workspace,
    now: Timestamp,
    out: &mut Vec<Finding>,
) -> bool {
    let config = &ws.config;
    let listing = match crate::checkpoint::open(ws).and_then(|store| store.list()) {
        Ok(l) => l,
        Err(_) => return false,
    };
    let newest = listing
        .checkpoints
        .iter()
        .filter(|s| s.valid && s.kind != crate::checkpoint::PRE_RESTORE)
        .max_by_key(|s| s.order_time());
    let max_age = config.health.checkpoint_max_age;
    let cutoff = now
        .checked_sub(
            jiff::SignedDuration::try_from(max_age.as_duration())
                .unwrap_or(jiff::SignedDuration::ZERO),
        )
        .unwrap_or(now);
    let title = match newest {
        Some(s) if s.order_time() >= cutoff => return true,
        Some(s) => format!(
            "the newest valid checkpoint is older than {max_age} ({}, {})",
            s.id, s.created_at
        ),
        None => "no valid checkpoint to roll back to".to_string(),
    };
    out.push(finding(
        config,
        Pattern::StaleCheckpoint,
        "stale-checkpoint".into(),
        title,
        "take one: `lifeline checkpoint create --type manual --operation baseline --push`; guard each bot step with `lifeline run` so every change has one (in a workflow, `lifeline checkpoint fetch` first: checkout does not fetch checkpoint refs)",
    ));
    true
}

/// A finding for a GitHub API failure that stopped a check. Its evidence
/// (which checks did not run) is added by
/// [`super::HealthReport::could_not_check`].
pub(crate) fn api_failure(config: &Config, error: &ApiError) -> Finding {
    let (pattern, key, title, fix) = match error {
        ApiError::Unauthorized { .. } => (
            Pattern::Auth,
            "auth",
            "GitHub token expired or invalid".to_string(),
            "renew the token and update the repository secret (a fine-grained token needs actions: read and issues: write); in a workflow, check its `permissions:`",
        ),
        ApiError::RateLimited { wait, .. } => (
            Pattern::RateLimit,
            "rate-limit",
            format!(
                "GitHub API rate limit exhausted (resets in {}s); health could not check everything",
                wait.as_secs()
            ),
            "nothing to do if it recurs rarely: the next run retries; otherwise run less often or raise --max-wait",
        ),
        ApiError::Deadline { .. } => (
            Pattern::Unknown,
            "timeout",
            "GitHub did not answer in time; health could not check everything".to_string(),
            "check GitHub's status page and the network; raise --timeout if the API is only slow",
        ),
        ApiError::TooManyPages { .. } => (
            Pattern::Unknown,
            "endless-list",
            "a GitHub list did not end; health could not check everything".to_string(),
            "check GITHUB_API_URL: GitHub ends its lists; a proxy or server that links pages forever is misbehaving",
        ),
        ApiError::Status { status: 404, .. } => (
            Pattern::Unknown,
            "not-found",
            "a GitHub endpoint health needs answered 404; health could not check everything"
                .to_string(),
            "check the repository name and that the token can read it (actions: read, issues: read, metadata: read)",
        ),
        _ => (
            Pattern::Unknown,
            "unreachable",
            "the GitHub API could not be used; health could not check everything".to_string(),
            "check GITHUB_API_URL / the network, and GitHub's status page",
        ),
    };
    finding(config, pattern, format!("github-api:{key}"), title, fix)
}

/// The repository's default branch.
pub(crate) fn default_branch(client: &Client, repo: &RepoName) -> Result<String, ApiError> {
    let answer = client.get(&repo.api_path())?;
    answer.body["default_branch"]
        .as_str()
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::Decode {
            path: repo.api_path(),
            message: "no `default_branch` in the answer".into(),
        })
}

/// Token expiry from the `GitHub-Authentication-Token-Expiration` header
/// (`2026-12-01 10:00:00 UTC`, or with a numeric offset): a P1 finding
/// within 24 hours, P2 within 7 days. Returns when it expires.
pub(crate) fn token_expiry(
    config: &Config,
    header: Option<&str>,
    now: Timestamp,
    out: &mut Vec<Finding>,
) -> Option<Timestamp> {
    let expires = parse_expiration(header?)?;
    let left = expires.duration_since(now);
    let severity = if left <= jiff::SignedDuration::from_hours(24) {
        Severity::P1
    } else if left <= jiff::SignedDuration::from_hours(7 * 24) {
        Severity::P2
    } else {
        return Some(expires);
    };
    let when = if left.is_negative() {
        "has expired".to_string()
    } else {
        format!("expires in {}h", left.as_secs() / 3600)
    };
    let mut f = finding(
        config,
        Pattern::Auth,
        "token-expiry".into(),
        format!("the GitHub token {when} ({expires})"),
        "create a new token and update the repository secret before it expires; the bots fail from then on",
    );
    f.severity = severity;
    f.evidence
        .push(format!("GitHub-Authentication-Token-Expiration: {expires}"));
    out.push(f);
    Some(expires)
}

/// `2026-12-01 10:00:00 UTC` or `2026-12-01 10:00:00 -0700`.
fn parse_expiration(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let text = match text.strip_suffix(" UTC") {
        Some(utc) => format!("{utc} +0000"),
        None => text.to_string(),
    };
    jiff::Timestamp::strptime("%Y-%m-%d %H:%M:%S %z", &text).ok()
}

/// True for a run lifeline may judge the repository by: from this
/// repository (not a fork), not started by a pull request (whose author
/// may be anyone), on one of `branches`.
fn trusted_run(run: &Value, repo: &RepoName, branches: &[String]) -> bool {
    let this = repo.to_string();
    let from_here = run["head_repository"]["full_name"]
        .as_str()
        .is_some_and(|r| r.eq_ignore_ascii_case(&this));
    let event = run["event"].as_str().unwrap_or_default();
    let branch = run["head_branch"].as_str().unwrap_or_default();
    from_here && !event.starts_with("pull_request") && branches.iter().any(|b| b == branch)
}

/// The newest trusted runs of `file` on `branches`, newest first: each
/// branch's list is read until it holds enough of them or ends.
fn trusted_runs(
    client: &Client,
    repo: &RepoName,
    file: &str,
    branches: &[String],
) -> Result<Vec<Value>, ApiError> {
    let mut runs = Vec::new();
    for branch in branches {
        let path = format!(
            "{}/actions/workflows/{}/runs?branch={}&per_page=100",
            repo.api_path(),
            crate::github::encode_component(file),
            crate::github::encode_component(branch)
        );
        let enough = |items: &[Value]| {
            items.len() >= MAX_RUNS_READ
                || items
                    .iter()
                    .filter(|r| trusted_run(r, repo, branches))
                    .count()
                    >= RUNS_PER_WORKFLOW
        };
        runs.extend(
            client
                .get_pages(&path, Some("workflow_runs"), enough)?
                .into_iter()
                .filter(|r| trusted_run(r, repo, branches)),
        );
    }
    runs.sort_by(|a, b| {
        b["created_at"]
            .as_str()
            .unwrap_or_default()
            .cmp(a["created_at"].as_str().unwrap_or_default())
    });
    runs.truncate(RUNS_PER_WORKFLOW);
    Ok(runs)
}

/// Watched workflows: failed runs within the window, the latest run
/// failed, or the workflow disabled. Only runs of this repository's own
/// code on `branches` count (see [`trusted_run`]).
pub(crate) fn workflows(
    client: &Client,
    repo: &RepoName,
    config: &Config,
    branches: &[String],
    now: Timestamp,
    out: &mut Vec<Finding>,
) -> Result<(), ApiError> {
    let base = repo.api_path();
    let listed = client.get_all(
        &format!("{base}/actions/workflows?per_page=100"),
        Some("workflows"),
    )?;
    let states: BTreeMap<String, String> = listed
        .iter()
        .filter_map(|w| {
            let path = w["path"].as_str()?;
            let file = path.rsplit('/').next()?.to_string();
            Some((file, w["state"].as_str().unwrap_or("active").to_string()))
        })
        .collect();
    let window = config.health.failure_window.as_duration();
    let since = now
        .checked_sub(jiff::SignedDuration::try_from(window).unwrap_or(jiff::SignedDuration::ZERO))
        .unwrap_or(now);
    for file in &config.health.workflows {
        let Some(state) = states.get(file) else {
            continue;
        };
        if state.starts_with("disabled") {
            let mut f = finding(
                config,
                Pattern::WorkflowDisabled,
                format!("workflow-disabled:{file}"),
                format!("{file} is disabled ({state})"),
                "",
            );
            f.remediation = format!(
                "if an emergency disabled it, finish the incident and run `lifeline recover resume INC-…`; otherwise `gh workflow enable {file}`"
            );
            out.push(f);
            continue;
        }
        let runs = trusted_runs(client, repo, file, branches)?;
        let completed: Vec<&Value> = runs.iter().filter(|r| r["status"] == "completed").collect();
        let failed = |r: &&Value| FAILED.contains(&r["conclusion"].as_str().unwrap_or_default());
        let recent_failures: Vec<&Value> = completed
            .iter()
            .copied()
            .filter(failed)
            .filter(|r| {
                r["created_at"]
                    .as_str()
                    .and_then(|t| t.parse::<Timestamp>().ok())
                    .is_some_and(|t| t >= since)
            })
            .collect();
        let latest_failed = completed.first().is_some_and(failed);
        let threshold = config.health.failure_threshold.max(1) as usize;
        let (severity, title, shown) = if recent_failures.len() >= threshold {
            (
                severity_of(config, Pattern::WorkflowFailure),
                format!(
                    "{file}: {} failed runs in the last {}",
                    recent_failures.len(),
                    config.health.failure_window
                ),
                recent_failures.clone(),
            )
        } else if latest_failed {
            (
                Severity::P2,
                format!("{file}: the latest run failed"),
                vec![completed[0]],
            )
        } else {
            continue;
        };
        let mut f = finding(
            config,
            Pattern::WorkflowFailure,
            format!("workflow-failure:{file}"),
            title,
            "open the failing run's log; if it broke the planning files, `lifeline restore latest-valid`; if it keeps failing, `lifeline recover sync-failure-cascade`",
        );
        f.severity = severity;
        f.failed_at = shown
            .iter()
            .filter_map(|r| {
                r["run_started_at"]
                    .as_str()
                    .or(r["created_at"].as_str())
                    .and_then(|t| t.parse::<Timestamp>().ok())
            })
            .min();
        if let Some(latest) = shown.first()
            && let Some(id) = latest["id"].as_u64()
        {
            // The jobs only add detail: when GitHub no longer has them
            // (or cannot answer), the failed runs are still reported.
            match client.get(&format!("{base}/actions/runs/{id}/jobs?per_page=100")) {
                Ok(jobs) => {
                    let names: Vec<&str> = jobs.body["jobs"]
                        .as_array()
                        .map(|js| {
                            js.iter()
                                .filter(|j| {
                                    FAILED.contains(&j["conclusion"].as_str().unwrap_or_default())
                                })
                                .filter_map(|j| j["name"].as_str())
                                .collect()
                        })
                        .unwrap_or_default();
                    if !names.is_empty() {
                        f.evidence
                            .push(format!("failing jobs in run {id}: {}", names.join(", ")));
                    }
                }
                Err(e) => f.evidence.push(format!(
                    "the jobs of run {id} could not be read: {}",
                    crate::redact::redact(&e.to_string())
                )),
            }
        }
        for run in shown.iter().take(5) {
            let sha = run["head_sha"].as_str().unwrap_or_default();
            f.evidence.push(format!(
                "run {} {} at {} (commit {})",
                run["id"],
                run["conclusion"].as_str().unwrap_or("?"),
                run["created_at"].as_str().unwrap_or("?"),
                &sha[..sha.len().min(7)]
            ));
            if let Some(url) = run["html_url"].as_str() {
                f.links.push(url.to_string());
            }
        }
        out.push(f);
    }
    Ok(())
}

/// Required labels missing from the repository: the configured ones plus
/// every label in labels.yml, compared case-insensitively, all pages read.
pub(crate) fn labels(
    client: &Client,
    repo: &RepoName,
    root: &Path,
    config: &Config,
    out: &mut Vec<Finding>,
) -> Result<(), ApiError> {
    let mut required: Vec<String> = config.health.required_labels.clone();
    required.extend(labels_yml_names(root, ".github/labels.yml"));
    let present: HashSet<String> = client
        .get_all(&format!("{}/labels?per_page=100", repo.api_path()), None)?
        .iter()
        .filter_map(|l| l["name"].as_str().map(str::to_lowercase))
        .collect();
    let mut seen = HashSet::new();
    let missing: Vec<String> = required
        .into_iter()
        .filter(|r| seen.insert(r.to_lowercase()))
        .filter(|r| !present.contains(&r.to_lowercase()))
        .collect();
    if !missing.is_empty() {
        let mut f = finding(
            config,
            Pattern::MissingLabels,
            "missing-labels".into(),
            format!("{} required labels missing from {repo}", missing.len()),
            "create them from .github/labels.yml (run the label-sync workflow, or `gh label create NAME --color RRGGBB`)",
        );
        f.evidence = missing
            .iter()
            .map(|m| format!("missing label `{m}`"))
            .collect();
        out.push(f);
    }
    Ok(())
}

/// Names in labels.yml; an unreadable or invalid file gives none (the file
/// detector reports it).
fn labels_yml_names(root: &Path, rel: &str) -> Vec<String> {
    use saphyr::LoadableYamlNode;
    // Never through a symlink or from a FIFO.
    let Some(text) = crate::fs::paths::read_own(root, rel)
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
    else {
        return Vec::new();
    };
    let Ok(docs) = saphyr::Yaml::load_from_str(text.trim_start_matches('\u{feff}')) else {
        return Vec::new();
    };
    let Some(list) = docs.first().and_then(|d| d.as_sequence()) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|item| {
            item.as_mapping_get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string)
        })
        .filter(|n| !n.is_empty())
        .collect()
}

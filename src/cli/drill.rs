//! `lifeline drill`: parses, calls `commands::drill`, renders the table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::Output;
use super::output::{Format, formats};
use crate::ci::{self, Env};
use crate::drill::{self, DrillReport, Verdict};
use crate::error::Result;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Repository whose files the drill copies [default: the repository root]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Run only this scenario (repeatable) [default: all]
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Output format
    #[arg(long, value_parser = formats(&[Format::Text, Format::Json, Format::Markdown]), default_value_t = Format::Text)]
    pub format: Format,
    /// Self-test: break PART on purpose (repeatable); every scenario that
    /// depends on it must then fail. `store`: no checkpoint can be read or
    /// written; `detection`: the detectors' reports are discarded
    #[arg(long = "break", value_enum, value_name = "PART")]
    pub faults: Vec<drill::Fault>,
    /// The same as `--break store`
    #[arg(long, hide = true)]
    pub break_store: bool,
}

pub(crate) fn run(
    ws: &Workspace,
    cwd: &Path,
    env: &dyn Env,
    out: &Output,
    args: DrillArgs,
) -> Result<i32> {
    let source = match &args.repo {
        Some(p) => cwd.join(p),
        None => ws.root.clone(),
    };
    let mut faults = args.faults.clone();
    if args.break_store && !faults.contains(&drill::Fault::Store) {
        faults.push(drill::Fault::Store);
    }
    let report = crate::commands::drill::run(ws, env, &source, &args.scenarios, &faults)?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report).expect("serializes") + "\n",
        Format::Markdown => markdown(&report),
        _ => text(&report),
    };
    out.print(|w| w.write_all(text.as_bytes()))?;
    if ci::in_github_actions(env) {
        ci::append_step_summary(env, &markdown(&report))?;
    }
    Ok(if report.passed() { 0 } else { 1 })
}

fn ms(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

fn summary(r: &DrillReport) -> String {
    let manual = r.count(Verdict::ManualRecoveryRequired);
    let failed = r.count(Verdict::Failed);
    let mut s = format!(
        "{}/{} scenarios passed (detected by the expected detector, recovered by lifeline, no data lost)",
        r.count(Verdict::Passed),
        r.scenarios.len()
    );
    if manual > 0 {
        s.push_str(&format!("; {manual} detected, manual recovery required"));
    }
    if failed > 0 {
        s.push_str(&format!("; {failed} FAILED — the drill FAILED"));
    }
    if !r.broken.is_empty() {
        let parts: Vec<String> = r
            .broken
            .iter()
            .map(|f| {
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        s.push_str(&format!(" [broken on purpose: {}]", parts.join(", ")));
    }
    s
}

fn text(r: &DrillReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<28} {:<3} {:<52} {:>9} {:>10} {:>10}  verdict",
        "scenario", "sev", "detected by", "detect ms", "recover ms", "bytes lost"
    );
    for sc in &r.scenarios {
        let _ = writeln!(
            s,
            "{:<28} {:<3} {:<52} {:>9} {:>10} {:>10}  {}",
            sc.name,
            sc.severity,
            if sc.detected_by.is_empty() {
                "-"
            } else {
                &sc.detected_by
            },
            ms(sc.detect_ms),
            ms(sc.recover_ms),
            sc.bytes_lost,
            sc.verdict.as_str()
        );
        if let Some(reason) = &sc.reason {
            let _ = writeln!(s, "    ^ {reason}");
        }
    }
    let _ = writeln!(s, "\n{}", summary(r));
    s
}

fn markdown(r: &DrillReport) -> String {
    let mut s = String::from(
        "## lifeline drill\n\n| Scenario | Severity | Expected detector | Detected by | Detect ms | Recover ms | Bytes lost | Verdict |\n|---|---|---|---|---:|---:|---:|---|\n",
    );
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    for sc in &r.scenarios {
        let verdict = match sc.verdict {
            Verdict::Passed => "✅ passed".to_string(),
            Verdict::ManualRecoveryRequired => "⚠️ detected, manual recovery required".to_string(),
            Verdict::Failed => format!(
                "❌ failed: {}",
                cell(sc.reason.as_deref().unwrap_or_default())
            ),
        };
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} | {} | {} | {} | {} |",
            sc.name,
            sc.severity,
            sc.expected_detector,
            cell(&sc.detected_by),
            ms(sc.detect_ms),
            ms(sc.recover_ms),
            sc.bytes_lost,
            verdict
        );
    }
    let _ = writeln!(s, "\n{}", summary(r));
    s
}

//! `lifeline drill`: checks the scenario names, runs each scenario
//! ([`crate::drill::attempt`], on scratch copies of `source`) and writes
//! one audit entry per scenario ([`ScenarioRecord::event`], the record
//! `lifeline report` reads back).
//!
//! [`ScenarioRecord::event`]: crate::drill::ScenarioRecord::event

use std::path::Path;

use crate::ci::Env;
use crate::drill::{self, DrillReport, Fault, scenarios};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// Runs the scenarios named (all when empty) against copies of `source`,
/// and records each in `ws`'s audit log.
pub(crate) fn run(
    ws: &Workspace,
    env: &dyn Env,
    source: &Path,
    names: &[String],
    faults: &[Fault],
) -> Result<DrillReport> {
    if !source.is_dir() {
        return Err(Error::usage(
            format!("--repo {}: no such directory", source.display()),
            None,
        ));
    }
    let all = scenarios::ALL;
    for name in names {
        if !all.iter().any(|s| s.name == name) {
            return Err(Error::usage(
                format!("unknown scenario `{name}`"),
                Some(format!(
                    "the scenarios are: {}",
                    all.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                )),
            ));
        }
    }
    let started_at = jiff::Timestamp::now().to_string();
    let mut results = Vec::new();
    for scenario in all
        .iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name))
    {
        let record = drill::attempt(scenario, source, faults)?;
        crate::audit::record(ws, env, &record.event())?;
        results.push(record);
    }
    Ok(DrillReport {
        repo: source.display().to_string(),
        started_at,
        broken: faults.to_vec(),
        scenarios: results,
    })
}

//! The drill's scenarios: the plan's failure matrix, end to end, on
//! scratch copies. Each scenario gets a fresh git repository (with a bare
//! origin) holding a copy of the source repository's files and a baseline
//! checkpoint; it injects one fault, detects it the way production would
//! (`validate`, `health`, a `run`-wrapped step), recovers the way
//! production would (`run` rollback, `restore`, `recover`). A scenario
//! passes only when the detector the plan names reported the fault, the
//! product recovered it, and the protected files validate and equal the
//! pre-fault bytes ([`judge`]). The user's working tree and remote are
//! never touched. `commands::drill` picks the scenarios, runs each with
//! [`attempt`] and writes the audit entries; nothing here prints.
//!
//! Writes: `--break store` ([`break_store`]) goes through the fs layer like
//! any write lifeline makes under a root. The faults themselves
//! ([`Scratch::write`], the scenarios) are plain `std::fs` writes on
//! purpose: they play the hostile bot, inside a scratch repository the
//! drill created a moment ago in a fresh private temporary directory, and
//! hold no user data a redirected write could reach.

pub(crate) mod record;
pub(crate) mod scenarios;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

pub(crate) use record::{Recovery, ScenarioRecord, Verdict};

use crate::ci::Env;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// A part the drill can break on purpose (`--break PART`), to prove that
/// the scenarios depending on it fail, and say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The checkpoint store: the baseline checkpoints are removed and no
    /// new checkpoint can be written (rollbacks, restores and the safety
    /// checkpoints of runbooks fail).
    Store,
    /// Detection: what the product's detectors report is discarded, so no
    /// scenario can pass.
    Detection,
}

/// What the product did in one scenario, before the verdict.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    /// Detector ids that reported the fault (`validate:FILE004`, …).
    pub detectors: Vec<String>,
    /// The same, in words, for the table.
    pub detected_by: String,
    pub detect_ms: Option<u64>,
    /// The product reports the recovery as done (the drill then checks the
    /// bytes and validity itself).
    pub recovered: bool,
    pub recover_ms: Option<u64>,
    /// Why the recovery is not done, when it is not.
    pub why_not: String,
}

/// The whole drill.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DrillReport {
    pub repo: String,
    pub started_at: String,
    /// The parts broken on purpose.
    pub broken: Vec<Fault>,
    pub scenarios: Vec<ScenarioRecord>,
}

impl DrillReport {
    /// True when no scenario failed.
    pub(crate) fn passed(&self) -> bool {
        self.scenarios.iter().all(|s| s.verdict != Verdict::Failed)
    }

    pub(crate) fn count(&self, verdict: Verdict) -> usize {
        self.scenarios
            .iter()
            .filter(|s| s.verdict == verdict)
            .count()
    }
}

/// An environment built for a scenario (no inherited secrets).
#[derive(Debug, Clone, Default)]
pub(crate) struct MapEnv(pub BTreeMap<String, String>);

impl Env for MapEnv {
    fn var(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).cloned()
    }
}

impl MapEnv {
    pub(crate) fn with(mut self, key: &str, value: &str) -> MapEnv {
        self.0.insert(key.to_string(), value.to_string());
        self
    }
}

/// A scratch repository for one scenario.
pub(crate) struct Scratch {
    _dir: tempfile::TempDir,
    pub ws: Workspace,
    pub origin: PathBuf,
    pub env: MapEnv,
    /// The parts broken on purpose.
    pub faults: Vec<Fault>,
    /// The protected files before the fault.
    pub before: BTreeMap<String, Vec<u8>>,
}

impl Scratch {
    /// Copies `source`'s files (not its `.git`, audit log or incidents)
    /// into a new repository with a bare origin, commits, pushes, and takes
    /// a baseline checkpoint.
    pub(crate) fn new(source: &Path, faults: &[Fault]) -> Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix("lifeline-drill-")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let work = dir.path().join("work");
        let origin = dir.path().join("origin.git");
        copy_tree(source, &work)?;
        let git = |dir: &Path, args: &[&str]| -> Result<()> {
            crate::git::Git::new(dir).run(args).map(|_| ())
        };
        std::fs::create_dir_all(&origin).map_err(|e| Error::io(&origin, e))?;
        git(&origin, &["init", "-q", "--bare", "-b", "main"])?;
        git(&work, &["init", "-q", "-b", "main"])?;
        git(&work, &["config", "user.name", "lifeline drill"])?;
        git(&work, &["config", "user.email", "drill@lifeline.invalid"])?;
        git(&work, &["config", "commit.gpgsign", "false"])?;
        git(&work, &["add", "-A"])?;
        git(
            &work,
            &["commit", "-q", "--no-verify", "-m", "drill baseline"],
        )?;
        git(
            &work,
            &["remote", "add", "origin", &origin.to_string_lossy()],
        )?;
        git(&work, &["push", "-q", "--", "origin", "main"])?;
        let ws = Workspace::discover(&work, Some(&work), None)?;
        let env = MapEnv::default().with("USER", "drill");
        let store = crate::checkpoint::open(&ws)?;
        crate::checkpoint::capture(
            &ws,
            &env,
            store.as_ref(),
            &crate::checkpoint::CaptureOptions {
                kind: "manual".into(),
                operation: "drill baseline".into(),
            },
        )?;
        if faults.contains(&Fault::Store) {
            break_store(&ws, store.as_ref())?;
        }
        let before = protected_bytes(&ws)?;
        Ok(Scratch {
            _dir: dir,
            ws,
            origin,
            env,
            faults: faults.to_vec(),
            before,
        })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.ws.root
    }

    /// Writes `bytes` to a repo-relative path (the fault).
    pub(crate) fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.root().join(rel);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    }

    pub(crate) fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.root().join(rel)).unwrap_or_default()
    }

    /// Protected bytes that differ from the pre-fault state.
    pub(crate) fn bytes_lost(&self) -> Result<u64> {
        let now = protected_bytes(&self.ws)?;
        let mut lost = 0u64;
        for (path, old) in &self.before {
            match now.get(path) {
                Some(new) if new == old => {}
                Some(new) => lost += differing(old, new),
                None => lost += old.len() as u64,
            }
        }
        for (path, new) in &now {
            if !self.before.contains_key(path) {
                lost += new.len() as u64;
            }
        }
        Ok(lost)
    }

    /// True when every protected file validates.
    pub(crate) fn valid(&self) -> Result<bool> {
        let targets = crate::validate::protected_targets(&self.ws.root, &self.ws.config)?;
        Ok(crate::validate::validate_targets(&targets)?.errors() == 0)
    }
}

/// The drill's self-test of the store: removes every checkpoint and puts
/// a file where the store keeps new ones, so no checkpoint can be read or
/// written in the scratch repository. The file is written by the fs layer
/// (no symlink followed below the root or the git directory);
/// `remove_dir_all` does not follow symlinks either.
fn break_store(ws: &Workspace, store: &dyn crate::checkpoint::Store) -> Result<()> {
    let ids: Vec<_> = store
        .list()?
        .checkpoints
        .iter()
        .map(|c| c.id.clone())
        .collect();
    store.remove(&ids)?;
    let block = if store.name() == "git" {
        ws.root.join(".git/refs/lifeline")
    } else {
        ws.root.join(crate::checkpoint::store::dir::STORE_DIR)
    };
    if block.is_dir() {
        std::fs::remove_dir_all(&block).map_err(|e| Error::io(&block, e))?;
    }
    crate::fs::atomic::write_private(
        &ws.root,
        &block,
        b"broken on purpose by `lifeline drill --break store`\n",
    )
}

/// Bytes of `old` not found at the same place in `new`, plus the length
/// difference.
fn differing(old: &[u8], new: &[u8]) -> u64 {
    let same = old.iter().zip(new).filter(|(a, b)| a == b).count();
    (old.len().max(new.len()) - same) as u64
}

fn protected_bytes(ws: &Workspace) -> Result<BTreeMap<String, Vec<u8>>> {
    let set = crate::config::protected::ProtectedSet::new(&ws.config)?;
    let mut out = BTreeMap::new();
    for (path, _) in set.files(&ws.root)? {
        if let Ok(bytes) = std::fs::read(ws.root.join(&path)) {
            out.insert(path, bytes);
        }
    }
    Ok(out)
}

/// Copies a working tree, leaving out `.git`, lifeline's own state, the
/// audit log and incident records (a drill starts from the files alone).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let skip = [".git", ".lifeline", "target"];
    let walk = walkdir::WalkDir::new(from).into_iter().filter_entry(|e| {
        !(e.depth() == 1 && skip.contains(&e.file_name().to_string_lossy().as_ref()))
    });
    for entry in walk {
        let entry = entry.map_err(|e| Error::io(from, e.into()))?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let rel_s = rel.to_string_lossy();
        if rel_s.starts_with("docs/audit") || rel_s.starts_with("docs/incidents") {
            continue;
        }
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &dest).map_err(|e| Error::io(&dest, e))?;
        }
    }
    Ok(())
}

/// Runs one scenario on a fresh scratch copy of `source` and judges it; a
/// scenario that could not be set up or stopped with an error is a failed
/// record, not an error.
pub(crate) fn attempt(
    scenario: &scenarios::Scenario,
    source: &Path,
    faults: &[Fault],
) -> Result<ScenarioRecord> {
    Ok(match Scratch::new(source, faults) {
        Ok(scratch) => match (scenario.run)(&scratch) {
            Ok(observed) => judge(scenario, &scratch, observed)?,
            Err(e) => stopped(
                scenario,
                format!(
                    "the scenario stopped: {}",
                    crate::redact::redact(&e.to_string())
                ),
            ),
        },
        Err(e) => stopped(
            scenario,
            format!("could not set up the scratch repository: {e}"),
        ),
    })
}

/// A scenario that stopped with an error before it could finish.
fn stopped(scenario: &scenarios::Scenario, reason: String) -> ScenarioRecord {
    ScenarioRecord {
        name: scenario.name.to_string(),
        severity: scenario.severity,
        recovery: scenario.recovery,
        expected_detector: scenario.detector.to_string(),
        detected_by: String::new(),
        detected: false,
        detect_ms: None,
        recover_ms: None,
        recovered: false,
        bytes_lost: 0,
        verdict: Verdict::Failed,
        reason: Some(format!(
            "{reason} (expected detector: {})",
            scenario.detector
        )),
    }
}

/// The verdict: the expected detector reported the fault, and (for an
/// automated recovery) the product recovered it, the protected files
/// validate and no byte differs from before the fault.
pub(crate) fn judge(
    scenario: &scenarios::Scenario,
    s: &Scratch,
    mut observed: Observed,
) -> Result<ScenarioRecord> {
    if s.faults.contains(&Fault::Detection) {
        observed.detectors.clear();
        observed.detected_by.clear();
        observed.detect_ms = None;
    }
    let bytes_lost = s.bytes_lost()?;
    let valid = s.valid()?;
    let detected = observed.detectors.iter().any(|d| d == scenario.detector);
    let recovered = observed.recovered && valid && bytes_lost == 0;
    let reported = match (observed.detected_by.is_empty(), observed.why_not.is_empty()) {
        (false, _) => format!("reported: {}", observed.detected_by),
        (true, true) => "nothing reported it".to_string(),
        (true, false) => format!("nothing reported it; {}", observed.why_not),
    };
    let failure = if !detected {
        Some(format!(
            "the expected detector `{}` did not report the fault ({reported})",
            scenario.detector
        ))
    } else if scenario.recovery == Recovery::Manual {
        (bytes_lost > 0).then(|| format!("{bytes_lost} protected bytes changed"))
    } else if !observed.recovered {
        Some(format!(
            "not recovered: {} (detected by `{}`)",
            observed.why_not, scenario.detector
        ))
    } else if !valid {
        Some(format!(
            "the protected files do not validate after recovery (detected by `{}`)",
            scenario.detector
        ))
    } else if bytes_lost > 0 {
        Some(format!(
            "{bytes_lost} protected bytes differ from the state before the fault (detected by `{}`)",
            scenario.detector
        ))
    } else {
        None
    };
    let verdict = match (&failure, scenario.recovery) {
        (Some(_), _) => Verdict::Failed,
        (None, Recovery::Manual) => Verdict::ManualRecoveryRequired,
        (None, Recovery::Automated) => Verdict::Passed,
    };
    Ok(ScenarioRecord {
        name: scenario.name.to_string(),
        severity: scenario.severity,
        recovery: scenario.recovery,
        expected_detector: scenario.detector.to_string(),
        detected_by: observed.detected_by,
        detected,
        detect_ms: observed.detect_ms,
        recover_ms: if recovered { observed.recover_ms } else { None },
        recovered: scenario.recovery == Recovery::Automated && recovered,
        bytes_lost,
        verdict,
        reason: failure,
    })
}

/// Milliseconds since `start`.
pub(crate) fn ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Scratch {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample-repo");
        Scratch::new(&source, &[]).expect("scratch repository")
    }

    fn scenario(name: &str) -> &'static scenarios::Scenario {
        scenarios::ALL.iter().find(|s| s.name == name).unwrap()
    }

    fn detected_and_recovered(detector: &str) -> Observed {
        Observed {
            detectors: vec![detector.to_string()],
            detected_by: detector.to_string(),
            detect_ms: Some(1),
            recovered: true,
            recover_ms: Some(1),
            why_not: String::new(),
        }
    }

    #[test]
    fn a_recovery_that_loses_bytes_fails_even_when_the_files_validate() {
        let s = sample();
        let sc = scenario("merge-conflict-markers");
        // What a recovery to an older version would leave: valid, not equal.
        let mut bytes = s.read("planning/TASK.md");
        bytes.extend_from_slice(b"\n");
        s.write("planning/TASK.md", &bytes).unwrap();
        assert!(s.valid().unwrap());
        let record = judge(sc, &s, detected_and_recovered(sc.detector)).unwrap();
        assert_eq!(record.verdict, Verdict::Failed);
        assert_eq!(record.bytes_lost, 1);
        assert!(!record.recovered);
        assert!(record.recover_ms.is_none());
        let reason = record.reason.unwrap();
        assert!(reason.contains("1 protected bytes differ"), "{reason}");
        assert!(reason.contains("validate:FILE004"), "{reason}");
    }

    #[test]
    fn a_fault_found_by_another_detector_is_not_a_pass() {
        let s = sample();
        let sc = scenario("corrupted-bytes");
        let record = judge(sc, &s, detected_and_recovered("validate:TASK006")).unwrap();
        assert_eq!(record.verdict, Verdict::Failed);
        assert!(!record.detected);
        let clean = judge(sc, &s, detected_and_recovered(sc.detector)).unwrap();
        assert_eq!(clean.verdict, Verdict::Passed);
    }

    #[test]
    fn a_failed_record_reads_back_from_its_audit_entry() {
        let s = sample();
        let sc = scenario("truncated-task-md");
        let mut observed = detected_and_recovered(sc.detector);
        observed.recovered = false;
        observed.why_not = "restore ended Refused".into();
        let record = judge(sc, &s, observed).unwrap();
        assert_eq!(record.verdict, Verdict::Failed);
        crate::audit::record(&s.ws, &s.env, &record.event()).unwrap();
        let log = crate::audit::store::Log::of(&s.ws).unwrap();
        let entries = crate::audit::query::query(&log, None, &Default::default()).unwrap();
        let entry = &entries.last().unwrap().entry;
        assert_eq!(entry["result"], "failure");
        assert!(entry["details"]["context"].is_object(), "{entry}");
        assert_eq!(ScenarioRecord::from_entry(entry), Some(record));
    }
}

//! `lifeline drill`: the plan's failure matrix, end to end, on scratch
//! copies. Each scenario gets a fresh git repository (with a bare origin)
//! holding a copy of the source repository's files and a baseline
//! checkpoint; it injects one fault, detects it the way production would
//! (`validate`, `health`, a `run`-wrapped step), recovers the way
//! production would (`run` rollback, `restore`, `recover`), and checks that
//! the protected files validate and equal the pre-fault bytes. The user's
//! working tree and remote are never touched.

pub mod scenarios;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::ci::Env;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// One scenario's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    /// What noticed the fault (`validate: FILE004`, `run: exit 3`, …);
    /// empty when nothing did.
    pub detected_by: String,
    pub detect_ms: u64,
    pub recover_ms: u64,
    pub recovered: bool,
    /// Protected bytes that differ from the pre-fault state afterwards.
    pub bytes_lost: u64,
    /// Why the scenario failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ScenarioResult {
    /// A scenario that stopped with an error before it could finish.
    fn failed(name: &str, reason: String) -> ScenarioResult {
        ScenarioResult {
            name: name.to_string(),
            detected_by: String::new(),
            detect_ms: 0,
            recover_ms: 0,
            recovered: false,
            bytes_lost: 0,
            reason: Some(reason),
        }
    }
}

/// The whole drill.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    pub repo: String,
    pub started_at: String,
    pub scenarios: Vec<ScenarioResult>,
}

impl DrillReport {
    pub fn passed(&self) -> bool {
        self.scenarios
            .iter()
            .all(|s| s.recovered && s.bytes_lost == 0)
    }
}

/// An environment built for a scenario (no inherited secrets).
#[derive(Debug, Clone, Default)]
pub struct MapEnv(pub BTreeMap<String, String>);

impl Env for MapEnv {
    fn var(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).cloned()
    }
}

impl MapEnv {
    pub fn with(mut self, key: &str, value: &str) -> MapEnv {
        self.0.insert(key.to_string(), value.to_string());
        self
    }
}

/// A scratch repository for one scenario.
pub struct Scratch {
    _dir: tempfile::TempDir,
    pub ws: Workspace,
    pub origin: PathBuf,
    pub env: MapEnv,
    /// The protected files before the fault.
    pub before: BTreeMap<String, Vec<u8>>,
}

impl Scratch {
    /// Copies `source`'s files (not its `.git`, audit log or incidents)
    /// into a new repository with a bare origin, commits, pushes, and takes
    /// a baseline checkpoint.
    pub fn new(source: &Path, break_store: bool) -> Result<Scratch> {
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
        if break_store {
            // The drill's self-test: with no checkpoint to go back to, the
            // scenarios that restore one must fail, and say why.
            for id in store
                .list()?
                .checkpoints
                .iter()
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
            {
                store.remove(&[id])?;
            }
        }
        let before = protected_bytes(&ws)?;
        Ok(Scratch {
            _dir: dir,
            ws,
            origin,
            env,
            before,
        })
    }

    pub fn root(&self) -> &Path {
        &self.ws.root
    }

    /// Writes `bytes` to a repo-relative path (the fault).
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.root().join(rel);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.root().join(rel)).unwrap_or_default()
    }

    /// Protected bytes that differ from the pre-fault state.
    pub fn bytes_lost(&self) -> Result<u64> {
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
    pub fn valid(&self) -> Result<bool> {
        let targets = crate::validate::protected_targets(&self.ws.root, &self.ws.config)?;
        Ok(crate::validate::validate_targets(&targets)?.errors() == 0)
    }
}

/// Bytes of `old` not found at the same place in `new`, plus the length
/// difference.
fn differing(old: &[u8], new: &[u8]) -> u64 {
    let same = old.iter().zip(new).filter(|(a, b)| a == b).count();
    (old.len().max(new.len()) - same) as u64
}

fn protected_bytes(ws: &Workspace) -> Result<BTreeMap<String, Vec<u8>>> {
    let set = crate::protected::ProtectedSet::new(&ws.config)?;
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

/// Runs the scenarios named (all when empty) against copies of `source`,
/// and records each in `ws`'s audit log.
pub fn run(
    ws: &Workspace,
    env: &dyn Env,
    source: &Path,
    names: &[String],
    break_store: bool,
) -> Result<DrillReport> {
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
        let result = match Scratch::new(source, break_store) {
            Ok(scratch) => (scenario.run)(&scratch).unwrap_or_else(|e| {
                ScenarioResult::failed(
                    scenario.name,
                    crate::redact::redact(&e.to_string()).into_owned(),
                )
            }),
            Err(e) => ScenarioResult::failed(
                scenario.name,
                format!("could not set up the scratch repository: {e}"),
            ),
        };
        let mut event = crate::audit::Event::new("drill", scenario.name)
            .detail("detected_by", result.detected_by.clone())
            .detail("detect_ms", result.detect_ms)
            .detail("recover_ms", result.recover_ms)
            .detail("recovered", result.recovered)
            .detail("bytes_lost", result.bytes_lost)
            .detail("severity", scenario.severity);
        if let Some(reason) = &result.reason {
            event = event.failure(reason.clone());
        } else if !result.recovered || result.bytes_lost > 0 {
            event = event.failure("not recovered");
        }
        crate::audit::record(ws, env, &event)?;
        results.push(result);
    }
    Ok(DrillReport {
        repo: source.display().to_string(),
        started_at,
        scenarios: results,
    })
}

/// Milliseconds since `start`.
pub fn ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

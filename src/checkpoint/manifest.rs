//! The manifest: what a checkpoint holds, written once and never changed.
//!
//! It is stored next to the files (`manifest.json` at the root of the git
//! tree, `checkpoints/<id>.json` in the directory store) and is the single
//! source of truth for restore: each file's repo-relative path, SHA-256,
//! size, mode and validation result, and the protected files that were
//! absent (so a restore removes them).

use serde::{Deserialize, Serialize};

use super::id::CheckpointId;
use crate::ci::WorkflowRun;
use crate::config::Validator;
use crate::config::protected::Records;
use crate::error::{Error, Result};

/// The manifest format version this build writes and reads.
pub(crate) const SCHEMA: u32 = 1;

/// A checkpoint's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version ([`SCHEMA`]).
    pub schema: u32,
    pub id: CheckpointId,
    /// The checkpoint type (`task-sync`, `pre-restore`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// What the checkpoint was taken before, in the caller's words
    /// (secrets redacted).
    pub operation: String,
    /// When capture began (UTC, RFC 3339).
    #[serde(with = "timestamp")]
    pub created_at: jiff::Timestamp,
    /// When capture finished and the manifest was written.
    #[serde(with = "timestamp")]
    pub completed_at: jiff::Timestamp,
    /// Who took it: `github:<login>`, `git:<user.name>` or `user:<$USER>`.
    pub actor: String,
    /// The GitHub Actions run, when taken inside one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<WorkflowRun>,
    /// The repository's state, when the root is a git work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitState>,
    /// True when every captured file validated and no protected file that
    /// has a validator was absent.
    pub valid: bool,
    /// The captured files, sorted by path.
    pub files: Vec<FileEntry>,
    /// Protected files that did not exist at capture time.
    pub absent: Vec<AbsentFile>,
    /// Files under a protected glob whose names a manifest cannot carry
    /// (not UTF-8, a backslash): neither captured nor absent, so a restore
    /// leaves them alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<crate::config::protected::OddName>,
    /// The lifeline version that wrote the checkpoint.
    pub lifeline_version: String,
}

/// The git state at capture time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitState {
    /// The HEAD commit (`None` on an unborn branch).
    pub head: Option<String>,
    /// The checked-out branch (`None` when HEAD is detached).
    pub branch: Option<String>,
    /// Paths with uncommitted changes (`git status`), untracked included.
    pub dirty: Vec<String>,
    /// The last five commits, newest first.
    pub recent_commits: Vec<CommitSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitSummary {
    pub sha: String,
    pub summary: String,
}

/// One captured file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Repo-relative, `/`-separated.
    pub path: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    pub size: u64,
    /// Unix permission bits, as octal text (`"0644"`).
    #[serde(with = "octal")]
    pub mode: u32,
    pub validator: Validator,
    /// The validator's verdict at capture time.
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
}

impl FileEntry {
    /// True when the owner may execute the file (git's `100755`).
    pub fn executable(&self) -> bool {
        self.mode & 0o100 != 0
    }
}

/// A protected file that did not exist when the checkpoint was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbsentFile {
    pub path: String,
    pub validator: Validator,
}

/// What `checkpoint list` shows. It is always derived from the verified
/// manifest (the copy in a git checkpoint's commit message is only
/// checked against it, never believed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub id: CheckpointId,
    #[serde(rename = "type")]
    pub kind: String,
    pub operation: String,
    /// When the checkpoint says it was taken (its creator's clock).
    #[serde(with = "timestamp")]
    pub created_at: jiff::Timestamp,
    pub actor: String,
    pub files: usize,
    pub absent: usize,
    pub valid: bool,
    /// When this clone first saw it, when that is earlier than
    /// `created_at`: a checkpoint dated in the future is ordered by this
    /// time, so it cannot win `latest`. Set by the store's listing.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_timestamp"
    )]
    pub observed_at: Option<jiff::Timestamp>,
}

impl Summary {
    /// The time checkpoints are ordered by: when it was taken, capped at
    /// when lifeline first saw it. Commit times have whole seconds, so a
    /// checkpoint counts as dated in the future only when it claims a time
    /// a second or more after it was seen.
    pub fn order_time(&self) -> jiff::Timestamp {
        match self.observed_at {
            Some(seen) if self.created_at >= seen + jiff::SignedDuration::from_secs(1) => seen,
            _ => self.created_at,
        }
    }

    /// True when it claims a time later than lifeline saw it.
    pub fn dated_in_future(&self) -> bool {
        self.order_time() < self.created_at
    }
}

impl Manifest {
    /// Parses and checks a manifest. `origin` names where it came from in
    /// errors (`refs/lifeline/checkpoints/<id>:manifest.json`). A path
    /// under `.git/` or in lifeline's `records` makes it corrupt: a
    /// checkpoint is data, and data never names those.
    pub fn from_json(bytes: &[u8], origin: &str, records: &Records) -> Result<Manifest> {
        let corrupt = |why: String| {
            Error::environment(
                format!("checkpoint manifest {origin} is corrupt: {why}"),
                Some("`lifeline checkpoint verify --all` reports every damaged checkpoint".into()),
            )
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        match value.get("schema").and_then(|s| s.as_u64()) {
            Some(v) if v == u64::from(SCHEMA) => {}
            Some(v) if v > u64::from(SCHEMA) => {
                return Err(Error::environment(
                    format!(
                        "checkpoint manifest {origin} has schema {v}; this lifeline reads schema {SCHEMA}"
                    ),
                    Some("upgrade lifeline".into()),
                ));
            }
            _ => return Err(corrupt("no valid `schema` field".into())),
        }
        let manifest: Manifest =
            serde_path_to_error::deserialize(value).map_err(|e| corrupt(e.to_string()))?;
        manifest.check(records).map_err(corrupt)?;
        Ok(manifest)
    }

    /// The manifest as pretty JSON with a final newline, secrets redacted
    /// (a commit subject or an operation may carry one).
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        bytes.push(b'\n');
        crate::redact::redact_bytes(&bytes).into_owned()
    }

    /// Structural checks beyond the types: safe paths outside `.git/` and
    /// lifeline's records, no duplicates, well-formed hashes.
    pub fn check(&self, records: &Records) -> std::result::Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        let paths = self
            .files
            .iter()
            .map(|f| &f.path)
            .chain(self.absent.iter().map(|a| &a.path));
        for path in paths {
            // Quoted escaped: the path is the manifest's, anyone's text.
            crate::fs::paths::check_relative(path)
                .map_err(|m| format!("path `{}`: {m}", path.escape_debug()))?;
            if let Some(why) = records.reason(path) {
                return Err(format!("it names a path lifeline never restores: {why}"));
            }
            if !seen.insert(path.as_str()) {
                return Err(format!("path `{path}` is listed twice"));
            }
        }
        for f in &self.files {
            let hex_ok = f.sha256.len() == 64
                && f.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex_ok {
                return Err(format!("`{}` has a malformed sha256", f.path));
            }
        }
        if self.id.kind() != self.kind {
            return Err(format!(
                "type `{}` does not match the ID `{}`",
                self.kind, self.id
            ));
        }
        Ok(())
    }

    pub fn summary(&self) -> Summary {
        Summary {
            id: self.id.clone(),
            kind: self.kind.clone(),
            operation: self.operation.clone(),
            created_at: self.created_at,
            actor: self.actor.clone(),
            files: self.files.len(),
            absent: self.absent.len(),
            valid: self.valid,
            observed_at: None,
        }
    }

    /// The entry for `path`, if the checkpoint captured it.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }
}

/// Newest first: by [`Summary::order_time`], then by ID.
pub(crate) fn sort_newest_first(summaries: &mut [Summary]) {
    summaries.sort_by(|a, b| b.order_time().cmp(&a.order_time()).then(b.id.cmp(&a.id)));
}

mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &jiff::Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<jiff::Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

mod optional_timestamp {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        t: &Option<jiff::Timestamp>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(t),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<jiff::Timestamp>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| text.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

mod octal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{mode:04o}"))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let text = String::deserialize(d)?;
        u32::from_str_radix(&text, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an octal file mode")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Manifest {
        Manifest {
            schema: SCHEMA,
            id: "manual-20261123T235927Z-7f3a".parse().unwrap(),
            kind: "manual".into(),
            operation: "test".into(),
            created_at: "2026-11-23T23:59:27.25Z".parse().unwrap(),
            completed_at: "2026-11-23T23:59:27.5Z".parse().unwrap(),
            actor: "user:me".into(),
            run: None,
            git: Some(GitState::default()),
            valid: true,
            files: vec![FileEntry {
                path: "planning/TASK.md".into(),
                sha256: "a".repeat(64),
                size: 3,
                mode: 0o644,
                validator: Validator::TaskMd,
                valid: true,
                errors: 0,
                warnings: 0,
            }],
            absent: vec![AbsentFile {
                path: ".github/labels.yml".into(),
                validator: Validator::Labels,
            }],
            skipped: Vec::new(),
            lifeline_version: "0.1.0".into(),
        }
    }

    fn records() -> Records {
        Records::new(&crate::config::Config::default())
    }

    #[test]
    fn round_trips_through_json() {
        let m = sample();
        let json = m.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.contains("\"mode\": \"0644\""), "{text}");
        assert!(text.contains("\"type\": \"manual\""), "{text}");
        assert_eq!(Manifest::from_json(&json, "m", &records()).unwrap(), m);
    }

    #[test]
    fn corrupt_manifests_are_clear_errors() {
        let err =
            Manifest::from_json(b"{not json", "refs/x:manifest.json", &records()).unwrap_err();
        assert!(
            err.to_string().contains("refs/x:manifest.json is corrupt"),
            "{err}"
        );

        let mut m = sample();
        m.files[0].path = "../etc/passwd".into();
        let err = Manifest::from_json(&m.to_json(), "m", &records()).unwrap_err();
        assert!(err.to_string().contains("`..` is not allowed"), "{err}");

        let mut value: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
        value["schema"] = 99.into();
        let err = Manifest::from_json(value.to_string().as_bytes(), "m", &records()).unwrap_err();
        assert!(err.to_string().contains("schema 99"), "{err}");

        let mut m = sample();
        m.files[0].sha256 = "xyz".into();
        assert!(Manifest::from_json(&m.to_json(), "m", &records()).is_err());
    }

    #[test]
    fn only_a_second_or_more_past_first_sight_counts_as_the_future() {
        let mut summary = sample().summary();
        summary.observed_at = Some("2026-11-23T23:59:27Z".parse().unwrap());
        assert_eq!(summary.order_time(), summary.created_at);
        assert!(!summary.dated_in_future());
        summary.created_at = "2099-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            summary.order_time(),
            "2026-11-23T23:59:27Z".parse::<jiff::Timestamp>().unwrap()
        );
        assert!(summary.dated_in_future());
    }

    /// The manifest layer on its own: a path into `.git/` or lifeline's
    /// records makes the manifest corrupt, whatever the store and the plan
    /// would do later.
    #[test]
    fn paths_into_git_or_records_make_a_manifest_corrupt() {
        for bad in [
            ".git/hooks/pre-commit",
            "docs/sprint-archives/.GIT/config",
            "docs/audit/audit-2026-11.jsonl",
            "docs/incidents/INC-1.md",
            ".lifeline/store/checkpoints/x.json",
        ] {
            let mut m = sample();
            m.files[0].path = bad.into();
            let err = Manifest::from_json(&m.to_json(), "m", &records()).unwrap_err();
            assert!(err.to_string().contains("never restores"), "{bad}: {err}");
            let mut m = sample();
            m.absent[0].path = bad.into();
            assert!(
                Manifest::from_json(&m.to_json(), "m", &records()).is_err(),
                "{bad}"
            );
        }
        let mut m = sample();
        m.files[0].path = "docs/audit-notes.md".into();
        assert!(Manifest::from_json(&m.to_json(), "m", &records()).is_ok());
    }
}

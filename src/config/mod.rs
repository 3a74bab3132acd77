//! `lifeline.toml`: the protected set, the severity policy and the settings
//! of each capability. A missing file means the plan's defaults. An unknown
//! key or a wrong type is an error naming the key path and its line.

pub(crate) mod protected;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The file name lifeline looks for at the repository root.
pub const FILE_NAME: &str = "lifeline.toml";

/// The largest `lifeline.toml` lifeline reads.
pub const MAX_CONFIG_SIZE: u64 = 1024 * 1024;

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The protected set: files and globs, each with a validator.
    pub protect: Vec<ProtectEntry>,
    pub checkpoint: CheckpointConfig,
    pub limits: LimitsConfig,
    pub audit: AuditConfig,
    /// Response time, authority and rollback rule per severity.
    pub severity: SeverityPolicy,
    /// The severity each failure pattern is given.
    pub patterns: BTreeMap<Pattern, Severity>,
    pub health: HealthConfig,
    pub github: GithubConfig,
    pub recover: RecoverConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            protect: vec![
                ProtectEntry::new("planning/TASK.md", Validator::TaskMd),
                ProtectEntry::new("planning/sprint.config.json", Validator::SprintConfig),
                ProtectEntry::new(".github/labels.yml", Validator::Labels),
                ProtectEntry::new("docs/sprint-archives/**", Validator::None),
            ],
            checkpoint: CheckpointConfig::default(),
            limits: LimitsConfig::default(),
            audit: AuditConfig::default(),
            severity: SeverityPolicy::default(),
            patterns: Pattern::ALL
                .iter()
                .map(|p| (*p, p.default_severity()))
                .collect(),
            health: HealthConfig::default(),
            github: GithubConfig::default(),
            recover: RecoverConfig::default(),
        }
    }
}

/// One entry of the protected set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectEntry {
    /// A repo-relative path, or a glob (`*`, `?`, `[..]`, `**` for any depth).
    pub path: String,
    /// How files matched by this entry are validated.
    #[serde(default)]
    pub validator: Validator,
}

impl ProtectEntry {
    pub fn new(path: &str, validator: Validator) -> Self {
        ProtectEntry {
            path: path.to_string(),
            validator,
        }
    }

    /// True when `path` contains glob metacharacters.
    pub fn is_glob(&self) -> bool {
        self.path.contains(['*', '?', '[', '{'])
    }
}

/// The validators lifeline ships.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Validator {
    TaskMd,
    SprintConfig,
    Labels,
    Json,
    Yaml,
    #[default]
    None,
}

impl Validator {
    pub const ALL: [Validator; 6] = [
        Validator::TaskMd,
        Validator::SprintConfig,
        Validator::Labels,
        Validator::Json,
        Validator::Yaml,
        Validator::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Validator::TaskMd => "task-md",
            Validator::SprintConfig => "sprint-config",
            Validator::Labels => "labels",
            Validator::Json => "json",
            Validator::Yaml => "yaml",
            Validator::None => "none",
        }
    }

    /// The validator a file gets by its name when the config does not say.
    pub fn by_name(path: &str) -> Validator {
        let name = path.rsplit('/').next().unwrap_or(path);
        let lower = name.to_ascii_lowercase();
        if lower == "sprint.config.json" {
            Validator::SprintConfig
        } else if lower == "labels.yml" || lower == "labels.yaml" {
            Validator::Labels
        } else if lower.starts_with("task") && lower.ends_with(".md") {
            Validator::TaskMd
        } else if lower.ends_with(".json") {
            Validator::Json
        } else if lower.ends_with(".yml") || lower.ends_with(".yaml") {
            Validator::Yaml
        } else {
            Validator::None
        }
    }
}

impl fmt::Display for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Validator {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Validator::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown validator `{s}`; expected one of: {}",
                    Validator::ALL.map(|v| v.as_str()).join(", ")
                )
            })
    }
}

/// Where checkpoints are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// Git refs inside a git repository, else the directory store.
    #[default]
    Auto,
    /// `refs/lifeline/checkpoints/<id>` in the repository.
    Git,
    /// The content-addressed directory store under `.lifeline/store/`.
    Directory,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    pub store: StoreKind,
    /// Checkpoint types accepted beyond the built-in ones.
    pub types: Vec<String>,
    /// The remote `checkpoint push` and `fetch` use.
    pub remote: String,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            store: StoreKind::Auto,
            types: Vec::new(),
            remote: "origin".into(),
        }
    }
}

/// Bounds on what lifeline reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// A protected file larger than this many bytes is a finding
    /// (`FILE008`), never read into memory.
    pub max_file_size: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_file_size: 256 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Repo-relative directory of the monthly `audit-YYYY-MM.jsonl` files.
    pub dir: String,
    /// Months younger than this are never compressed, moved or rewritten.
    pub retention_years: u32,
    /// Environment variables whose values are redacted wherever they appear.
    pub secret_env: Vec<String>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            dir: "docs/audit".into(),
            retention_years: 7,
            secret_env: Vec::new(),
        }
    }
}

/// Incident severities, P0 the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    P0,
    P1,
    P2,
    P3,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::P0, Severity::P1, Severity::P2, Severity::P3];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::P0 => "P0",
            Severity::P1 => "P1",
            Severity::P2 => "P2",
            Severity::P3 => "P3",
        }
    }

    /// The GitHub label the plan uses for this severity.
    pub fn priority_label(self) -> &'static str {
        match self {
            Severity::P0 => "priority/critical",
            Severity::P1 => "priority/high",
            Severity::P2 => "priority/medium",
            Severity::P3 => "priority/low",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    /// Accepts `P1` and the plan's spellings `P1-High`, `p1`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let head = s.split(['-', ' ']).next().unwrap_or(s).to_ascii_uppercase();
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == head)
            .ok_or_else(|| format!("unknown severity `{s}`; expected P0, P1, P2 or P3"))
    }
}

/// What the plan requires of a rollback at a severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackRule {
    Immediate,
    Required,
    Optional,
    NotRequired,
}

/// One row of the severity table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityLevel {
    pub description: String,
    /// How soon someone must respond.
    pub response: HumanDuration,
    /// Actors (`@login`) or teams (`@org/team`) allowed to run recovery at
    /// this severity. Empty: everyone (lifeline warns).
    #[serde(default)]
    pub authority: Vec<String>,
    pub rollback: RollbackRule,
}

/// The severity table. A level left out of lifeline.toml keeps the plan's
/// row, and a key left out of a level keeps that row's value, so
/// `[severity.P1] authority = ["@lead"]` is a whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PartialPolicy")]
pub struct SeverityPolicy {
    #[serde(rename = "P0")]
    pub p0: SeverityLevel,
    #[serde(rename = "P1")]
    pub p1: SeverityLevel,
    #[serde(rename = "P2")]
    pub p2: SeverityLevel,
    #[serde(rename = "P3")]
    pub p3: SeverityLevel,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialPolicy {
    #[serde(rename = "P0")]
    p0: Option<PartialLevel>,
    #[serde(rename = "P1")]
    p1: Option<PartialLevel>,
    #[serde(rename = "P2")]
    p2: Option<PartialLevel>,
    #[serde(rename = "P3")]
    p3: Option<PartialLevel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialLevel {
    description: Option<String>,
    response: Option<HumanDuration>,
    authority: Option<Vec<String>>,
    rollback: Option<RollbackRule>,
}

impl PartialLevel {
    fn over(self, base: SeverityLevel) -> SeverityLevel {
        SeverityLevel {
            description: self.description.unwrap_or(base.description),
            response: self.response.unwrap_or(base.response),
            authority: self.authority.unwrap_or(base.authority),
            rollback: self.rollback.unwrap_or(base.rollback),
        }
    }
}

impl TryFrom<PartialPolicy> for SeverityPolicy {
    type Error = String;
    fn try_from(p: PartialPolicy) -> std::result::Result<Self, String> {
        let d = SeverityPolicy::default();
        let pick = |part: Option<PartialLevel>, base: SeverityLevel| match part {
            Some(l) => l.over(base),
            None => base,
        };
        Ok(SeverityPolicy {
            p0: pick(p.p0, d.p0),
            p1: pick(p.p1, d.p1),
            p2: pick(p.p2, d.p2),
            p3: pick(p.p3, d.p3),
        })
    }
}

impl SeverityPolicy {
    pub fn level(&self, s: Severity) -> &SeverityLevel {
        match s {
            Severity::P0 => &self.p0,
            Severity::P1 => &self.p1,
            Severity::P2 => &self.p2,
            Severity::P3 => &self.p3,
        }
    }
}

impl Default for SeverityPolicy {
    fn default() -> Self {
        let level = |description: &str, response: u64, rollback| SeverityLevel {
            description: description.into(),
            response: HumanDuration::from_secs(response),
            authority: Vec::new(),
            rollback,
        };
        SeverityPolicy {
            p0: level(
                "Data corruption, security breach",
                15 * 60,
                RollbackRule::Immediate,
            ),
            p1: level(
                "Automation completely broken",
                2 * 3600,
                RollbackRule::Required,
            ),
            p2: level(
                "Partial automation failure",
                8 * 3600,
                RollbackRule::Optional,
            ),
            p3: level(
                "Minor sync issues, cosmetic problems",
                48 * 3600,
                RollbackRule::NotRequired,
            ),
        }
    }
}

/// The plan's failure patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    RateLimit,
    Auth,
    MergeConflict,
    ParseError,
    Corruption,
    SprintConfigCorruption,
    WorkflowFailure,
    WorkflowDisabled,
    MissingLabels,
    AuditIntegrity,
    StaleCheckpoint,
    Unknown,
}

impl Pattern {
    pub const ALL: [Pattern; 12] = [
        Pattern::RateLimit,
        Pattern::Auth,
        Pattern::MergeConflict,
        Pattern::ParseError,
        Pattern::Corruption,
        Pattern::SprintConfigCorruption,
        Pattern::WorkflowFailure,
        Pattern::WorkflowDisabled,
        Pattern::MissingLabels,
        Pattern::AuditIntegrity,
        Pattern::StaleCheckpoint,
        Pattern::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::RateLimit => "rate-limit",
            Pattern::Auth => "auth",
            Pattern::MergeConflict => "merge-conflict",
            Pattern::ParseError => "parse-error",
            Pattern::Corruption => "corruption",
            Pattern::SprintConfigCorruption => "sprint-config-corruption",
            Pattern::WorkflowFailure => "workflow-failure",
            Pattern::WorkflowDisabled => "workflow-disabled",
            Pattern::MissingLabels => "missing-labels",
            Pattern::AuditIntegrity => "audit-integrity",
            Pattern::StaleCheckpoint => "stale-checkpoint",
            Pattern::Unknown => "unknown",
        }
    }

    /// The plan's matrix: rate limits recover by themselves (P3); an expired
    /// token stops all automation (P1); corruption is data corruption (P0).
    /// A broken audit chain may be tampering: a security matter (P0).
    pub fn default_severity(self) -> Severity {
        match self {
            Pattern::RateLimit => Severity::P3,
            Pattern::Auth => Severity::P1,
            Pattern::MergeConflict => Severity::P2,
            Pattern::ParseError => Severity::P2,
            Pattern::Corruption => Severity::P0,
            Pattern::SprintConfigCorruption => Severity::P1,
            Pattern::WorkflowFailure => Severity::P1,
            Pattern::WorkflowDisabled => Severity::P2,
            Pattern::MissingLabels => Severity::P2,
            Pattern::AuditIntegrity => Severity::P0,
            Pattern::StaleCheckpoint => Severity::P3,
            Pattern::Unknown => Severity::P2,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Workflow files watched for failures.
    pub workflows: Vec<String>,
    /// Branches whose runs count; empty: the repository's default branch.
    /// Runs from forks and runs started by pull requests never count.
    pub branches: Vec<String>,
    /// This many failed runs within `failure_window` is a P1 finding.
    pub failure_threshold: u32,
    pub failure_window: HumanDuration,
    /// Labels that must exist in the repository (labels.yml adds its own).
    pub required_labels: Vec<String>,
    /// A repeat of an open alert is commented at most this often.
    pub repeat_interval: HumanDuration,
    /// A finding when no valid checkpoint is newer than this.
    pub checkpoint_max_age: HumanDuration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            workflows: vec![
                "task-sync.yml".into(),
                "task-archive.yml".into(),
                "auto-update-metadata.yml".into(),
            ],
            branches: Vec::new(),
            failure_threshold: 2,
            failure_window: HumanDuration::from_secs(3600),
            required_labels: vec![
                "priority/critical".into(),
                "priority/high".into(),
                "status/blocked".into(),
                "type/bug".into(),
            ],
            repeat_interval: HumanDuration::from_secs(4 * 3600),
            checkpoint_max_age: HumanDuration::from_secs(7 * 86400),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GithubConfig {
    /// API base URL; `GITHUB_API_URL` overrides it; default api.github.com.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// `owner/name`; `--repo` and `GITHUB_REPOSITORY` override it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoverConfig {
    /// Assignees of the post-incident follow-up issue.
    pub follow_up_assignees: Vec<String>,
    /// The workflow `complete-automation-failure` leaves enabled.
    pub emergency_workflow: String,
    /// Workflows `sync-failure-cascade` disables.
    pub sync_workflows: Vec<String>,
}

impl Default for RecoverConfig {
    fn default() -> Self {
        RecoverConfig {
            follow_up_assignees: Vec::new(),
            emergency_workflow: "lifeline-emergency-recovery.yml".into(),
            sync_workflows: vec!["task-sync.yml".into()],
        }
    }
}

/// A duration written the human way in the config: `15m`, `2h`, `7d`,
/// `1h 30m`. Calendar units (months, years) are refused because their
/// length varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(std::time::Duration);

impl HumanDuration {
    pub const fn from_secs(secs: u64) -> Self {
        HumanDuration(std::time::Duration::from_secs(secs))
    }

    pub fn as_duration(self) -> std::time::Duration {
        self.0
    }

    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
}

impl FromStr for HumanDuration {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let span: jiff::Span = s
            .trim()
            .parse()
            .map_err(|e| format!("`{s}` is not a duration like `15m`, `2h` or `7d`: {e}"))?;
        if span.get_years() != 0 || span.get_months() != 0 {
            return Err(format!(
                "`{s}`: months and years vary in length; use days (`30d`)"
            ));
        }
        if span.is_negative() {
            return Err(format!("`{s}`: a duration cannot be negative"));
        }
        let secs = span
            .total(jiff::SpanTotal::from(jiff::Unit::Second).days_are_24_hours())
            .map_err(|e| format!("`{s}`: {e}"))?;
        Ok(HumanDuration(std::time::Duration::from_secs_f64(secs)))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let units = [(86400, "d"), (3600, "h"), (60, "m"), (1, "s")];
        if secs == 0 {
            return f.write_str("0s");
        }
        let mut rest = secs;
        let mut first = true;
        for (size, unit) in units {
            if rest >= size {
                if !first {
                    f.write_str(" ")?;
                }
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
                first = false;
            }
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// Parses `text` (the contents of `path`). Errors name the key path, the
    /// line and the column.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let de =
            toml::de::Deserializer::parse(text).map_err(|e| config_error(text, path, &e, ""))?;
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            config_error(text, path, e.inner(), &key)
        })?;
        config.check(text, path)?;
        Ok(config)
    }

    /// Loads `path`; `Ok(None)` when it does not exist. The file itself is
    /// never followed if it is a symlink (an error could quote an outside
    /// file), never opened if it is a FIFO or device (no hang), and never
    /// read past [`MAX_CONFIG_SIZE`].
    pub fn load(path: &Path) -> Result<Option<Config>> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.exists() {
            return Ok(None);
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let Some(bytes) = crate::fs::paths::read_file(dir, &name, MAX_CONFIG_SIZE)? else {
            return Ok(None);
        };
        let text = String::from_utf8(bytes).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
            help: Some("save lifeline.toml as UTF-8".into()),
        })?;
        Config::parse(&text, path).map(Some)
    }

    /// Rules serde cannot express.
    fn check(&self, text: &str, path: &Path) -> Result<()> {
        let remote = &self.checkpoint.remote;
        if let Some(problem) = crate::git::remote_name_problem(remote) {
            let (line, column) = text
                .find(&format!("\"{remote}\""))
                .or_else(|| text.find(&format!("'{remote}'")))
                .map_or((1, 1), |at| crate::fs::paths::line_col(text, at));
            return Err(Error::Config {
                path: path.to_path_buf(),
                line,
                column,
                message: format!("checkpoint.remote `{remote}` is refused: {problem}"),
                help: Some(
                    "name a configured git remote (`git remote -v` lists them), such as `origin`"
                        .into(),
                ),
            });
        }
        for entry in &self.protect {
            // serde keeps no spans here; the quoted value locates the entry.
            let (line, column) = text
                .find(&format!("\"{}\"", entry.path))
                .or_else(|| text.find(&format!("'{}'", entry.path)))
                .map_or((1, 1), |at| crate::fs::paths::line_col(text, at));
            if let Err(msg) = crate::fs::paths::check_relative(&entry.path) {
                return Err(Error::Config {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: format!("protect.path `{}`: {msg}", entry.path),
                    help: Some("protected paths are relative to the repository root".into()),
                });
            }
            if entry.is_glob() {
                crate::config::protected::compile(&entry.path).map_err(|e| Error::Config {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: format!("protect.path `{}` is not a valid glob: {e}", entry.path),
                    help: None,
                })?;
            }
        }
        Ok(())
    }

    /// The validator the config gives `path` (the first matching entry), or
    /// `None` when no entry matches.
    pub fn validator_for(&self, path: &str) -> Option<Validator> {
        self.protect.iter().find_map(|e| {
            let hit = if e.is_glob() {
                crate::config::protected::compile(&e.path)
                    .ok()
                    .is_some_and(|g| g.compile_matcher().is_match(path))
            } else {
                e.path == path
            };
            hit.then_some(e.validator)
        })
    }

    /// Every checkpoint type accepted: the built-in ones plus configured.
    pub fn checkpoint_types(&self) -> Vec<String> {
        let mut types: Vec<String> = BUILTIN_CHECKPOINT_TYPES
            .iter()
            .map(|s| s.to_string())
            .collect();
        types.extend(self.checkpoint.types.iter().cloned());
        types
    }
}

/// Checkpoint types every repository has.
pub const BUILTIN_CHECKPOINT_TYPES: [&str; 5] = [
    "task-sync",
    "sprint-archive",
    "emergency",
    "manual",
    "pre-restore",
];

fn config_error(text: &str, path: &Path, e: &toml::de::Error, key: &str) -> Error {
    let (line, column) = e
        .span()
        .map(|s| crate::fs::paths::line_col(text, s.start))
        .unwrap_or((1, 1));
    let message = if key.is_empty() || key == "." {
        e.message().to_string()
    } else {
        format!("`{key}`: {}", e.message())
    };
    let help = if e.message().contains("unknown field") {
        Some(match misspelt_key(e.message()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => {
                "remove the key or fix its spelling; `lifeline config show` prints every key".into()
            }
        })
    } else {
        None
    };
    Error::Config {
        path: path.to_path_buf(),
        line,
        column,
        message,
        help,
    }
}

/// The known key nearest to the unknown one in serde's "unknown field
/// `x`, expected one of `a`, `b`" message, when it is close enough to be a
/// typo of it.
fn misspelt_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    crate::validate::suggest::nearest(key, &expected).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_key_gets_the_nearest_one() {
        let err = parse("[audit]\nretention_yeras = 8\n").unwrap_err();
        assert_eq!(err.help(), Some("did you mean `retention_years`?"));
        let err = parse("[audit]\nshelf_life = 8\n").unwrap_err();
        assert!(
            err.help().unwrap().starts_with("remove the key"),
            "{:?}",
            err.help()
        );
    }

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("lifeline.toml"))
    }

    #[test]
    fn empty_file_gives_the_plan_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.protect[0].path, "planning/TASK.md");
        assert_eq!(c.severity.p1.response.as_secs(), 7200);
    }

    #[test]
    fn unknown_key_names_path_and_line() {
        let err = parse("[audit]\ndir = \"x\"\nretension_years = 3\n").unwrap_err();
        match err {
            Error::Config { line, message, .. } => {
                assert_eq!(line, 3, "{message}");
                assert!(message.contains("audit"), "{message}");
                assert!(message.contains("retension_years"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_type_names_path_and_line() {
        let err = parse(
            "[[protect]]\npath = \"a.md\"\nvalidator = \"task-md\"\n\n[[protect]]\npath = 3\n",
        )
        .unwrap_err();
        match err {
            Error::Config { line, message, .. } => {
                assert_eq!(line, 6, "{message}");
                assert!(message.contains("protect[1].path"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_validator_and_duration_are_errors() {
        assert!(parse("[[protect]]\npath = \"a\"\nvalidator = \"xml\"\n").is_err());
        assert!(parse("[health]\nfailure_window = \"1 month\"\n").is_err());
        let c = parse("[health]\nfailure_window = \"90m\"\n").unwrap();
        assert_eq!(c.health.failure_window.as_secs(), 5400);
        assert_eq!(c.health.failure_window.to_string(), "1h 30m");
    }

    #[test]
    fn a_remote_that_is_not_a_plain_name_is_refused_with_its_line() {
        for bad in [
            "--upload-pack=touch pwned",
            "../elsewhere.git",
            "/tmp/x.git",
            "git@host:x",
        ] {
            let text = format!("[checkpoint]\nstore = \"git\"\nremote = \"{bad}\"\n");
            match parse(&text) {
                Err(Error::Config { line, message, .. }) => {
                    assert_eq!(line, 3, "{message}");
                    assert!(message.contains("checkpoint.remote"), "{message}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!(
            parse("[checkpoint]\nremote = \"backup\"\n")
                .unwrap()
                .checkpoint
                .remote,
            "backup"
        );
    }

    #[test]
    fn escaping_protected_paths_are_refused() {
        assert!(parse("[[protect]]\npath = \"../x\"\n").is_err());
        assert!(parse("[[protect]]\npath = \"/etc/passwd\"\n").is_err());
    }

    #[test]
    fn validator_lookup_by_config_then_name() {
        let c = Config::default();
        assert_eq!(c.validator_for("planning/TASK.md"), Some(Validator::TaskMd));
        assert_eq!(
            c.validator_for("docs/sprint-archives/S/TASK-v1.0.0.md"),
            Some(Validator::None)
        );
        assert_eq!(c.validator_for("other.md"), None);
        assert_eq!(
            Validator::by_name("x/sprint.config.json"),
            Validator::SprintConfig
        );
        assert_eq!(Validator::by_name("TASK.bad.md"), Validator::TaskMd);
        assert_eq!(Validator::by_name("a.yaml"), Validator::Yaml);
    }

    #[test]
    fn a_partial_severity_table_keeps_the_plan_elsewhere() {
        let c = parse("[severity.P1]\nauthority = [\"@lead\"]\n").unwrap();
        assert_eq!(c.severity.p1.authority, ["@lead"]);
        assert_eq!(c.severity.p1.response.as_secs(), 7200);
        assert_eq!(c.severity.p0, SeverityPolicy::default().p0);
        assert!(parse("[severity.P1]\nauthorty = []\n").is_err());
    }

    #[test]
    fn severity_accepts_plan_spellings() {
        assert_eq!("P1-High".parse::<Severity>().unwrap(), Severity::P1);
        assert_eq!("p3".parse::<Severity>().unwrap(), Severity::P3);
        assert!("P5".parse::<Severity>().is_err());
    }
}

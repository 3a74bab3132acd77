//! `lifeline validate`: choose the files, read them, run each file's
//! validator, and the checks that span two files.
//!
//! Every validator receives a [`Source`] that has already passed the
//! file-level checks of [`text`] (UTF-8, no NUL byte, no conflict marker,
//! not empty): a file that fails those is corrupt, and rule-by-rule findings
//! on top of it would only be noise.

pub(crate) mod data;
pub(crate) mod dates;
pub mod diagnostic;
pub(crate) mod labels;
pub(crate) mod read;
pub(crate) mod render;
pub(crate) mod rules;
pub(crate) mod sprint_config;
pub(crate) mod suggest;
pub(crate) mod task_md;
pub mod taskmd;
pub(crate) mod text;

use std::path::Path;

use serde::Serialize;

use crate::config::{Config, Validator};
use crate::validate::diagnostic::{Diagnostic, Level, Source};
use crate::validate::read::Contents;
use crate::validate::rules::Rule;

/// Whether a second thread can help: the machine (or the cgroup) has two
/// cores or more. Asked once per process: std reads the cgroup files each
/// time.
pub(crate) fn two_cores() -> bool {
    static TWO: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TWO.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2))
}

/// The outcome for one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Repo-relative path.
    pub path: String,
    pub validator: Validator,
    /// False when the file has an error-level finding.
    pub valid: bool,
    pub errors: usize,
    pub warnings: usize,
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
    /// The decoded text, kept for renderers that quote source lines.
    #[serde(skip)]
    pub source: Option<Source>,
}

impl FileReport {
    fn new(
        path: String,
        validator: Validator,
        mut diagnostics: Vec<Diagnostic>,
        source: Option<Source>,
    ) -> Self {
        diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let errors = count(&diagnostics, Level::Error);
        let warnings = count(&diagnostics, Level::Warning);
        FileReport {
            path,
            validator,
            valid: errors == 0,
            errors,
            warnings,
            diagnostics,
            source,
        }
    }
}

fn count(diagnostics: &[Diagnostic], level: Level) -> usize {
    diagnostics.iter().filter(|d| d.level == level).count()
}

/// The outcome of one `validate` run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub files: Vec<FileReport>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.files.iter().map(|f| f.errors).sum()
    }

    pub fn warnings(&self) -> usize {
        self.files.iter().map(|f| f.warnings).sum()
    }

    /// Every finding, file by file.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().flat_map(|f| f.diagnostics.iter())
    }

    /// The source of `path`, when it was read as text.
    pub fn source(&self, path: &str) -> Option<&Source> {
        self.files
            .iter()
            .find(|f| f.path == path)
            .and_then(|f| f.source.as_ref())
    }

    /// True when nothing fails: no errors, and no warnings either when
    /// `deny_warnings`.
    pub fn passes(&self, deny_warnings: bool) -> bool {
        self.errors() == 0 && (!deny_warnings || self.warnings() == 0)
    }
}

/// What one validator found out that another file's checks need.
#[derive(Debug, Default)]
struct Facts {
    /// TASK.md's sprint ID and where it was written.
    task_sprint_id: Option<(String, crate::validate::diagnostic::Span)>,
    /// sprint.config.json's `sprint_id`.
    config_sprint_id: Option<String>,
}

/// Validates one file's bytes with `validator`. `path` is the repo-relative
/// name used in findings.
pub fn validate_bytes(path: &str, bytes: &[u8], validator: Validator) -> FileReport {
    validate_one(path, Contents::Bytes(bytes.to_vec()), validator).0
}

fn validate_one(path: &str, contents: Contents, validator: Validator) -> (FileReport, Facts) {
    let mut out = Vec::new();
    let mut facts = Facts::default();
    if validator == Validator::None {
        return (FileReport::new(path.into(), validator, out, None), facts);
    }
    let decoded = match contents {
        Contents::Bytes(bytes) => text::decode(path, bytes, &mut out),
        Contents::Plain(text) => text::decode_plain(path, text, &mut out),
    };
    let Some(source) = decoded else {
        return (FileReport::new(path.into(), validator, out, None), facts);
    };
    if out.iter().all(|d| d.level != Level::Error) {
        match validator {
            Validator::TaskMd => facts.task_sprint_id = task_md::check(&source, &mut out),
            Validator::SprintConfig => {
                facts.config_sprint_id = sprint_config::check(&source, &mut out)
            }
            Validator::Labels => labels::check(&source, &mut out),
            Validator::Json => data::check_json(&source, &mut out),
            Validator::Yaml => data::check_yaml(&source, &mut out),
            Validator::None => {}
        }
    }
    (
        FileReport::new(path.into(), validator, out, Some(source)),
        facts,
    )
}

/// One file to validate: where it is on disk, its name in findings, its
/// validator and the largest size read.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: String,
    pub disk: std::path::PathBuf,
    pub validator: Validator,
    /// The directory `path` is relative to when the file is inside the
    /// repository (read without following any symlink below it); `None`
    /// for a file named on the command line outside the repository, whose
    /// last component alone is not followed.
    pub root: Option<std::path::PathBuf>,
    /// Files larger than this are a `FILE008` finding, never read.
    pub max_size: u64,
    /// Why lifeline cannot carry the file's name (not UTF-8, a backslash,
    /// a control character): a `FILE009` finding, never read. `path` is
    /// then the escaped name checkpoint create shows.
    pub odd: Option<String>,
}

impl Target {
    /// A file of the repository at `root`, named by its repo-relative path.
    pub fn in_root(root: &Path, path: String, validator: Validator, max_size: u64) -> Target {
        Target {
            disk: root.join(&path),
            root: Some(root.to_path_buf()),
            path,
            validator,
            max_size,
            odd: None,
        }
    }

    /// A file under a protected glob whose name lifeline cannot carry,
    /// named by its escaped path.
    fn odd_name(
        root: &Path,
        odd: crate::config::protected::OddName,
        validator: Validator,
    ) -> Target {
        Target {
            disk: root.to_path_buf(),
            root: Some(root.to_path_buf()),
            path: odd.path,
            validator,
            max_size: 0,
            odd: Some(odd.reason),
        }
    }

    /// The base directory and the relative name to open under it.
    fn base(&self) -> (std::path::PathBuf, String) {
        match &self.root {
            Some(root) => (root.clone(), self.path.clone()),
            None => {
                let dir = self
                    .disk
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let name = self.disk.file_name().unwrap_or_default();
                (dir.to_path_buf(), name.to_string_lossy().into_owned())
            }
        }
    }
}

/// Reads a target, or says why it is not read: every entry is looked at
/// with `lstat` first, so a symlink is never followed, a FIFO or device
/// never opened, and an oversized file never read.
fn read_target(target: &Target) -> crate::Result<std::result::Result<Contents, Diagnostic>> {
    use crate::fs::paths::{Inspect, Kind};
    let (base, rel) = target.base();
    let finding = |rule, message: String, help: &str| {
        Ok(Err(
            Diagnostic::new(rule, target.path.clone(), message).with_help(help)
        ))
    };
    if let Some(reason) = &target.odd {
        // The name is attacker text: only its escaped form is ever shown,
        // and the file is never opened.
        return finding(
            Rule::FileOddName,
            format!(
                "`{}` is a protected file whose name lifeline cannot carry ({reason}); lifeline does not read it, and checkpoints do not capture it",
                target.path
            ),
            "rename the file to a UTF-8 name without backslashes or control characters (`git mv OLD NEW`), or move it out of the protected set",
        );
    }
    let found = match crate::fs::paths::inspect(&base, &rel)? {
        Inspect::Missing => {
            return finding(
                Rule::FileMissing,
                format!("protected file `{}` does not exist", target.path),
                "restore it (`lifeline restore latest-valid --only PATH`) or remove it from the protected set in lifeline.toml",
            );
        }
        Inspect::Blocked { at, kind } => {
            return if kind == Kind::Symlink {
                finding(
                    Rule::FileSymlink,
                    format!(
                        "`{at}` is a symlink; lifeline does not read `{}` through it",
                        target.path
                    ),
                    "replace the symlink by a real directory, or restore the file (`lifeline restore latest-valid --only PATH`)",
                )
            } else {
                finding(
                    Rule::FileSpecial,
                    format!("`{at}` is {}, not a directory", kind.describe()),
                    "remove it, or restore the file (`lifeline restore latest-valid --only PATH`)",
                )
            };
        }
        Inspect::Found(found) => found,
    };
    match found.kind {
        Kind::File => {}
        Kind::Symlink => {
            return finding(
                Rule::FileSymlink,
                format!(
                    "`{}` is a symlink; lifeline does not read through it",
                    target.path
                ),
                "replace the link by the file itself, or restore it (`lifeline restore latest-valid --only PATH`)",
            );
        }
        kind => {
            return finding(
                Rule::FileSpecial,
                format!(
                    "`{}` is {}, not a regular file; it was not opened",
                    target.path,
                    kind.describe()
                ),
                "remove it, or restore the file (`lifeline restore latest-valid --only PATH`)",
            );
        }
    }
    if found.size > target.max_size {
        return finding(
            Rule::FileTooLarge,
            format!(
                "`{}` holds {} bytes, more than the limit of {}; it was not read",
                target.path, found.size, target.max_size
            ),
            "shrink or restore the file, or raise `[limits] max_file_size` in lifeline.toml",
        );
    }
    match read::read_file(&base, &rel, target.max_size, read::SPLIT_MIN)? {
        Some(contents) => Ok(Ok(contents)),
        None => finding(
            Rule::FileMissing,
            format!("protected file `{}` does not exist", target.path),
            "restore it (`lifeline restore latest-valid --only PATH`) or remove it from the protected set in lifeline.toml",
        ),
    }
}

/// Validates `targets`. A missing, symlinked, special or oversized file, or
/// one whose name lifeline cannot carry, is a finding (`FILE001`,
/// `FILE006`–`FILE009`); any other read failure is an error of the run.
pub fn validate_targets(targets: &[Target]) -> crate::Result<Report> {
    let mut files = Vec::with_capacity(targets.len());
    let mut facts = Vec::with_capacity(targets.len());
    for target in targets {
        match read_target(target)? {
            Ok(contents) => {
                let (report, f) = validate_one(&target.path, contents, target.validator);
                files.push(report);
                facts.push(f);
            }
            Err(d) => {
                files.push(FileReport::new(
                    target.path.clone(),
                    target.validator,
                    vec![d],
                    None,
                ));
                facts.push(Facts::default());
            }
        }
    }
    cross_check(targets, &mut files, &facts);
    Ok(Report { files })
}

/// XREF001: a TASK.md's sprint ID against the sprint.config.json in the
/// same directory.
fn cross_check(targets: &[Target], files: &mut [FileReport], facts: &[Facts]) {
    for (i, fact) in facts.iter().enumerate() {
        let Some((task_id, span)) = &fact.task_sprint_id else {
            continue;
        };
        let dir = parent(&targets[i].path);
        let config = targets.iter().zip(facts).find(|(t, f)| {
            t.validator == Validator::SprintConfig
                && parent(&t.path) == dir
                && f.config_sprint_id.is_some()
        });
        let Some((config_target, config_facts)) = config else {
            continue;
        };
        let config_id = config_facts.config_sprint_id.as_deref().unwrap_or_default();
        if config_id != task_id {
            let d = Diagnostic::new(
                Rule::CrossSprintId,
                targets[i].path.clone(),
                format!(
                    "Sprint ID `{task_id}` disagrees with `{}`, which says `{config_id}`",
                    config_target.path
                ),
            )
            .with_span(*span)
            .with_label(format!("{} says `{config_id}`", config_target.path))
            .with_help(
                "make both name the current sprint; if a sprint rotation failed half-way, restore both from one checkpoint (`lifeline restore latest-valid`)",
            );
            let file = &mut files[i];
            file.diagnostics.push(d);
            file.diagnostics
                .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
            file.warnings += 1;
        }
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The files `validate` checks with no paths given: every existing file
/// matched by a glob entry, and every literal entry whether or not it
/// exists (a missing one is a finding). Entries without a validator are
/// skipped unless a glob matched something other than a regular file (a
/// symlink or a FIFO is a finding whatever the validator) or a file whose
/// name lifeline cannot carry (a `FILE009` finding: a detector that cannot
/// see a protected file says so).
pub fn protected_targets(root: &Path, config: &Config) -> crate::Result<Vec<Target>> {
    let set = crate::config::protected::ProtectedSet::new(config)?;
    let scan = set.scan(root)?;
    let max_size = config.limits.max_file_size;
    let files = scan.files.into_iter().map(|(p, v)| (p, v, true));
    let special = scan.special.into_iter().map(|(p, v)| (p, v, false));
    let mut targets: Vec<Target> = files
        .chain(special)
        .filter(|(_, validator, regular)| !(*validator == Validator::None && *regular))
        .map(|(path, validator, _)| Target::in_root(root, path, validator, max_size))
        .collect();
    for odd in scan.odd {
        let validator = set.covers(&odd.path).unwrap_or(Validator::None);
        targets.push(Target::odd_name(root, odd, validator));
    }
    targets.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(targets)
}

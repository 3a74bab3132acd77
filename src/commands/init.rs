//! `lifeline init`: sets a repository up. Writes a commented
//! `lifeline.toml`, the `.gitattributes` line that lets git merge two
//! clones' audit logs, and the two workflows: the health check and the
//! emergency recovery. Every file is compared with what init would write:
//! equal is left as is, missing is created, and different is left alone
//! unless `--force` (init still writes the others, names each file it kept
//! and exits 2), so a rerun changes nothing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::audit::Event;
use crate::config::Validator;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The commented configuration `init` writes; it parses to the defaults.
pub const CONFIG_TEMPLATE: &str = include_str!("../../templates/lifeline.toml");

/// The health-check workflow; `{{workflow_run}}` and `{{lifeline_action}}`
/// are filled in by [`health_workflow`].
pub const HEALTH_TEMPLATE: &str = include_str!("../../templates/lifeline-health.yml");

/// The emergency-recovery workflow; `{{lifeline_action}}` is filled in.
pub const EMERGENCY_TEMPLATE: &str =
    include_str!("../../templates/lifeline-emergency-recovery.yml");

/// The guarded-step pattern `init --print-example` prints.
pub const EXAMPLE_TEMPLATE: &str = include_str!("../../templates/guarded-step.yml");

/// The health workflow's path, relative to the root.
pub const HEALTH_WORKFLOW: &str = ".github/workflows/lifeline-health.yml";

/// Where workflows live, relative to the root.
const WORKFLOWS_DIR: &str = ".github/workflows";

/// What `init` did to each file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Overwritten,
    Unchanged,
    /// `--dry-run`: would be created or overwritten.
    WouldWrite,
    /// Exists and differs; left as it is (without `--force`).
    Kept,
    /// Not written; the outcome's note says why.
    Skipped,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct InitOutcome {
    pub path: PathBuf,
    pub action: Action,
    /// Something the user should know about this file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The lifeline composite action (`action.yml` at the root of lifeline's
/// repository) at one commit: how the generated workflows install
/// lifeline. A full commit SHA, never a tag, because a tag can be moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRef {
    /// `owner/name` of lifeline's repository.
    pub repo: String,
    /// The full (40 hex digit) commit SHA.
    pub commit: String,
}

impl ActionRef {
    /// The release this binary was built by: the release workflow sets
    /// `LIFELINE_RELEASE_REPOSITORY` and `LIFELINE_RELEASE_COMMIT` when it
    /// compiles. `None` for a build from source.
    pub fn of_this_release() -> Option<ActionRef> {
        let repo = option_env!("LIFELINE_RELEASE_REPOSITORY")?;
        let commit = option_env!("LIFELINE_RELEASE_COMMIT")?;
        format!("{repo}@{commit}").parse().ok()
    }

    /// The `uses:` value: pinned to the commit, the version in a comment.
    pub fn uses(&self) -> String {
        format!(
            "{}@{} # v{}",
            self.repo,
            self.commit,
            env!("CARGO_PKG_VERSION")
        )
    }
}

impl fmt::Display for ActionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.repo, self.commit)
    }
}

impl FromStr for ActionRef {
    type Err = String;
    /// `owner/name@<40 hex digits>`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}` is not OWNER/NAME@COMMIT with a full 40-hex-digit commit SHA");
        let (repo, commit) = s.split_once('@').ok_or_else(bad)?;
        let (owner, name) = repo.split_once('/').ok_or_else(bad)?;
        let part_ok = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        let commit_ok = commit.len() == 40
            && commit
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if !(part_ok(owner) && part_ok(name) && commit_ok) {
            return Err(bad());
        }
        Ok(ActionRef {
            repo: repo.to_string(),
            commit: commit.to_string(),
        })
    }
}

/// What `init` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// Overwrite files that exist and differ.
    pub force: bool,
    /// Write nothing; report what would be written.
    pub dry_run: bool,
    /// How the workflows install lifeline [default:
    /// [`ActionRef::of_this_release`]]. Without one, the workflows are
    /// skipped and init exits 2 naming the command that writes them.
    pub action: Option<ActionRef>,
    /// Also write starting planning files (TASK.md, sprint.config.json,
    /// labels.yml) for the current sprint where there are none.
    pub starter: bool,
}

/// Writes the configuration, the `.gitattributes` line and the workflows.
/// Records an audit entry unless `dry_run` or the run changed nothing and
/// finished (a rerun leaves `git status` clean); a failure is recorded.
pub fn run(ws: &Workspace, options: &InitOptions) -> Result<Vec<InitOutcome>> {
    let result = write_files(ws, options).and_then(|mut outcomes| {
        outcomes.push(write_gitattributes(ws, options.dry_run)?);
        Ok(outcomes)
    });
    if options.dry_run {
        return result;
    }
    let changed = |outcomes: &[InitOutcome]| {
        outcomes
            .iter()
            .any(|o| matches!(o.action, Action::Created | Action::Overwritten))
    };
    // A run that changed nothing and finished (a rerun) is not an
    // operation worth a line; a refused one is, as a failure.
    if result
        .as_deref()
        .is_ok_and(|o| !changed(o) && unfinished_error(&ws.root, o).is_none())
    {
        return result;
    }
    let env = crate::ci::ProcessEnv;
    let event = match &result {
        Ok(outcomes) => {
            let mut event = Event::new("lifeline", "init").detail("force", options.force);
            // Files kept because they differ, or workflows skipped, make
            // the run a failure (exit 2), though the others were written.
            if let Some(e) = unfinished_error(&ws.root, outcomes) {
                event = event.failure(e.to_string());
            }
            for o in outcomes
                .iter()
                .filter(|o| matches!(o.action, Action::Created | Action::Overwritten))
            {
                if let Some(rel) = crate::fs::paths::relative_to(&ws.root, &o.path) {
                    event = event.file(rel);
                }
            }
            event
        }
        Err(e) => Event::new("lifeline", "init")
            .detail("force", options.force)
            .failure(e.to_string()),
    };
    let recorded = crate::audit::record(ws, &env, &event);
    let outcomes = result?;
    recorded?;
    Ok(outcomes)
}

/// The guarded-step example, installing lifeline with `action` (a
/// placeholder when unknown).
pub fn example(action: Option<&ActionRef>) -> String {
    let uses = action.map(ActionRef::uses).unwrap_or_else(|| {
        format!(
            "OWNER/lifeline@COMMIT # v{} (the commit SHA of the release tag)",
            env!("CARGO_PKG_VERSION")
        )
    });
    let repository = action.map_or("OWNER/lifeline", |a| a.repo.as_str());
    EXAMPLE_TEMPLATE
        .replace("{{lifeline_action}}", &uses)
        .replace("{{lifeline_repository}}", repository)
}

/// `template` installing lifeline with `action`: the `uses:` line pinned
/// to the commit and the repository the action downloads from, named
/// explicitly (the action never guesses it).
fn with_action(template: &str, action: &ActionRef) -> String {
    template
        .replace("{{lifeline_action}}", &action.uses())
        .replace("{{lifeline_repository}}", &action.repo)
}

/// The `.gitattributes` line for the configured audit directory.
pub fn gitattributes_line(ws: &Workspace) -> String {
    format!(
        "{}/*.jsonl merge=union",
        ws.config.audit.dir.trim_end_matches('/')
    )
}

/// One file init owns, and what it should contain (`None`: skipped, the
/// note says why).
struct Planned {
    path: PathBuf,
    content: Option<String>,
    note: Option<String>,
    /// A starter file: written only where there is none, never compared.
    only_if_missing: bool,
}

impl Planned {
    fn owned(path: PathBuf, content: Option<String>, note: Option<String>) -> Planned {
        Planned {
            path,
            content,
            note,
            only_if_missing: false,
        }
    }
}

/// The note on a workflow init could not write, and the start of the
/// error [`unfinished_error`] builds from it.
const NO_ACTION: &str = "this lifeline was built from source and does not know which release the workflows should install";

/// The emergency workflow's path: `[recover] emergency_workflow`, which
/// `complete-automation-failure` must leave enabled, so the two agree.
pub fn emergency_workflow_path(ws: &Workspace) -> Result<String> {
    let name = &ws.config.recover.emergency_workflow;
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && (name.ends_with(".yml") || name.ends_with(".yaml"));
    if !plain {
        return Err(Error::usage(
            format!("recover.emergency_workflow `{name}` is not a workflow file name"),
            Some(
                "give a file name in .github/workflows, e.g. \"lifeline-emergency-recovery.yml\""
                    .into(),
            ),
        ));
    }
    Ok(format!("{WORKFLOWS_DIR}/{name}"))
}

fn plan(ws: &Workspace, options: &InitOptions) -> Result<Vec<Planned>> {
    let mut planned = vec![Planned::owned(
        ws.root.join(crate::config::FILE_NAME),
        Some(CONFIG_TEMPLATE.to_string()),
        None,
    )];
    let emergency = emergency_workflow_path(ws)?;
    let action = options.action.clone().or_else(ActionRef::of_this_release);
    match action {
        None => {
            for rel in [HEALTH_WORKFLOW, emergency.as_str()] {
                planned.push(Planned::owned(
                    ws.root.join(rel),
                    None,
                    Some(NO_ACTION.to_string()),
                ));
            }
        }
        Some(action) => {
            let (health, note) = health_workflow(ws, &action, &emergency);
            planned.push(Planned::owned(
                ws.root.join(HEALTH_WORKFLOW),
                Some(health),
                note,
            ));
            planned.push(Planned::owned(
                ws.root.join(&emergency),
                Some(with_action(EMERGENCY_TEMPLATE, &action)),
                None,
            ));
        }
    }
    if options.starter {
        let today = jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date();
        let files = super::starter::files(today);
        for (validator, content) in [
            (Validator::TaskMd, files.task_md),
            (Validator::SprintConfig, files.sprint_config),
            (Validator::Labels, files.labels),
        ] {
            planned.push(Planned {
                path: ws.root.join(protected_path(ws, validator)),
                content: Some(content),
                note: None,
                only_if_missing: true,
            });
        }
    }
    Ok(planned)
}

/// Where the protected set keeps the file `validator` checks: its first
/// plain (not glob) entry, else the default path.
fn protected_path(ws: &Workspace, validator: Validator) -> String {
    ws.config
        .protect
        .iter()
        .find(|e| e.validator == validator && !e.is_glob())
        .map(|e| e.path.clone())
        .unwrap_or_else(|| {
            match validator {
                Validator::TaskMd => "planning/TASK.md",
                Validator::SprintConfig => "planning/sprint.config.json",
                _ => ".github/labels.yml",
            }
            .to_string()
        })
}

/// The health workflow, and a note naming watched workflows it could not
/// trigger on.
///
/// `workflow_run` matches a workflow by its `name:` (or, without one, its
/// path), not by its file name, so each watched file is read for it. A
/// watched file that does not exist is left out (the 15-minute schedule
/// still covers it) and named in the note; so are lifeline's own
/// workflows, which must not trigger the health check.
pub fn health_workflow(
    ws: &Workspace,
    action: &ActionRef,
    emergency: &str,
) -> (String, Option<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut missing = Vec::new();
    let mut own = Vec::new();
    for file in &ws.config.health.workflows {
        let rel = format!("{WORKFLOWS_DIR}/{file}");
        if rel == HEALTH_WORKFLOW || rel == emergency {
            own.push(file.as_str());
            continue;
        }
        match workflow_name(&ws.root, file) {
            Some(name) if !names.contains(&name) => names.push(name),
            Some(_) => {}
            None => missing.push(file.as_str()),
        }
    }
    let trigger = if names.is_empty() {
        String::new()
    } else {
        let mut t = String::from(
            "  # lifeline checks out the default branch and never runs the triggering run's\n  \
             # code or reads its artifacts, so the trigger is safe here.\n  \
             workflow_run: # zizmor: ignore[dangerous-triggers] only trusted default-branch code runs\n    \
             workflows:\n",
        );
        for name in &names {
            let quoted = serde_json::to_string(name).expect("a string serializes");
            t.push_str(&format!("      - {quoted}\n"));
        }
        t.push_str("    types: [completed]\n");
        t
    };
    let text = with_action(
        &HEALTH_TEMPLATE.replace("{{workflow_run}}", &trigger),
        action,
    );
    let mut notes = Vec::new();
    if !missing.is_empty() {
        notes.push(format!(
            "not found in {WORKFLOWS_DIR}, checked every 15 minutes only: {} \
             (run `lifeline init --force` once they exist)",
            missing.join(", ")
        ));
    }
    if !own.is_empty() {
        notes.push(format!(
            "lifeline's own workflows are not watched: {}",
            own.join(", ")
        ));
    }
    (text, (!notes.is_empty()).then(|| notes.join("; ")))
}

/// The name `workflow_run` knows the workflow file `file` by: its `name:`,
/// else its path. `None` when the file is missing, unreadable or not a
/// plain file name.
fn workflow_name(root: &Path, file: &str) -> Option<String> {
    use saphyr::LoadableYamlNode;
    if file.is_empty() || file.starts_with('.') || file.contains(['/', '\\']) {
        return None;
    }
    let rel = format!("{WORKFLOWS_DIR}/{file}");
    let bytes = crate::fs::paths::read_own(root, &rel).ok()??;
    let text = String::from_utf8(bytes).ok()?;
    let docs = saphyr::Yaml::load_from_str(text.trim_start_matches('\u{feff}')).ok()?;
    let name = docs
        .first()
        .and_then(|d| d.as_mapping_get("name"))
        .and_then(|n| n.as_str())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    Some(name.unwrap_or(rel))
}

/// The bytes and mode of the regular file `rel` under `root`, read
/// without following a symlink at any component; `None` when absent. A
/// symlink, FIFO or device there (or a symlink above it) is refused.
fn read_existing(root: &Path, rel: &str) -> Result<Option<(Vec<u8>, u32)>> {
    let Some(mut file) = crate::fs::paths::open_file(root, rel)? else {
        return Ok(None);
    };
    let path = root.join(rel);
    let mode = crate::fs::atomic::mode_of(&file.metadata().map_err(|e| Error::io(&path, e))?);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(|e| Error::io(&path, e))?;
    Ok(Some((bytes, mode)))
}

/// The repo-relative form of a planned path.
fn rel_of(root: &Path, path: &Path) -> String {
    crate::fs::paths::relative_to(root, path).expect("init plans paths under the root")
}

/// Compares every planned file with what is there and writes the missing
/// ones; a file that differs is overwritten with `force`, else kept.
/// Every target (and `.gitattributes`) is checked before anything is
/// written, so a symlink or special file at any of them refuses the whole
/// run instead of leaving it half done.
fn write_files(ws: &Workspace, options: &InitOptions) -> Result<Vec<InitOutcome>> {
    let planned = plan(ws, options)?;
    let mut existing = Vec::with_capacity(planned.len());
    for p in &planned {
        let rel = rel_of(&ws.root, &p.path);
        let found = if p.content.is_some() {
            read_existing(&ws.root, &rel)?
        } else {
            None
        };
        existing.push((rel, found));
    }
    read_existing(&ws.root, GITATTRIBUTES)?;
    let mut outcomes = Vec::new();
    for (p, (rel, existing)) in planned.into_iter().zip(existing) {
        let Some(content) = &p.content else {
            outcomes.push(InitOutcome {
                path: p.path,
                action: Action::Skipped,
                note: p.note,
            });
            continue;
        };
        if p.only_if_missing && existing.is_some() {
            outcomes.push(InitOutcome {
                path: p.path,
                action: Action::Skipped,
                note: Some(
                    "exists; --starter only writes planning files where there are none".into(),
                ),
            });
            continue;
        }
        let action = match &existing {
            Some((bytes, _)) if bytes == content.as_bytes() => Action::Unchanged,
            Some(_) if !options.force => Action::Kept,
            _ if options.dry_run => Action::WouldWrite,
            Some(_) => Action::Overwritten,
            None => Action::Created,
        };
        if matches!(action, Action::Created | Action::Overwritten) {
            let mode = existing.map(|(_, mode)| mode);
            crate::fs::atomic::write_in(&ws.root, &rel, content.as_bytes(), mode)?;
        }
        outcomes.push(InitOutcome {
            path: p.path,
            action,
            note: p.note,
        });
    }
    Ok(outcomes)
}

const GITATTRIBUTES: &str = ".gitattributes";

/// Why init did not finish the job (exit 2): files kept because they
/// differ, or workflows a build from source could not write — with the one
/// command that finishes it. `None` when it finished.
pub fn unfinished_error(root: &Path, outcomes: &[InitOutcome]) -> Option<Error> {
    if let Some(e) = kept_error(root, outcomes) {
        return Some(e);
    }
    let skipped = outcomes
        .iter()
        .any(|o| o.action == Action::Skipped && o.note.as_deref() == Some(NO_ACTION));
    skipped.then(|| {
        let version = env!("CARGO_PKG_VERSION");
        Error::usage(
            format!("the workflows were not written: {NO_ACTION}"),
            Some(format!(
                "finish with `lifeline init --action OWNER/lifeline@<full commit SHA of the v{version} tag>` \
                 (the SHA is what `git ls-remote https://github.com/OWNER/lifeline refs/tags/v{version}` prints), \
                 or run `lifeline init` with a release binary, which knows its release"
            )),
        )
    })
}

/// The error for files `init` kept because they differ (exit 2), naming
/// each; `None` when there are none.
fn kept_error(root: &Path, outcomes: &[InitOutcome]) -> Option<Error> {
    let kept: Vec<String> = outcomes
        .iter()
        .filter(|o| o.action == Action::Kept)
        .map(|o| {
            o.path
                .strip_prefix(root)
                .unwrap_or(&o.path)
                .display()
                .to_string()
        })
        .collect();
    match kept.as_slice() {
        [] => None,
        [one] => Some(Error::usage(
            format!("{one} already exists and differs from the template; left as it is"),
            Some("keep it, or pass --force to overwrite it".into()),
        )),
        many => Some(Error::usage(
            format!(
                "{} files already exist and differ from the templates; left as they are: {}",
                many.len(),
                many.join(", ")
            ),
            Some("keep them, or pass --force to overwrite them".into()),
        )),
    }
}

/// Appends the audit line to `.gitattributes` unless a line already says
/// it; other lines are kept as they are.
fn write_gitattributes(ws: &Workspace, dry_run: bool) -> Result<InitOutcome> {
    let path = ws.root.join(GITATTRIBUTES);
    let line = gitattributes_line(ws);
    let (existing, mode) = match read_existing(&ws.root, GITATTRIBUTES)? {
        Some((bytes, mode)) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::usage(
                    format!("{}: not UTF-8 text", path.display()),
                    Some("fix the file, then run init again".to_string()),
                )
            })?;
            (Some(text), Some(mode))
        }
        None => (None, None),
    };
    let present = existing.as_deref().is_some_and(|text| {
        text.lines()
            .any(|l| l.split_whitespace().eq(line.split_whitespace()))
    });
    let action = match &existing {
        _ if present => Action::Unchanged,
        _ if dry_run => Action::WouldWrite,
        Some(_) => Action::Overwritten,
        None => Action::Created,
    };
    if matches!(action, Action::Created | Action::Overwritten) {
        let mut text = existing.unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        crate::fs::atomic::write_in(&ws.root, GITATTRIBUTES, text.as_bytes(), mode)?;
    }
    Ok(InitOutcome {
        path,
        action,
        note: None,
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitattributes_line_is_added_once_and_keeps_other_lines() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::discover(dir.path(), Some(dir.path()), None).unwrap();
        let path = dir.path().join(".gitattributes");
        std::fs::write(&path, "*.png binary").unwrap();
        assert_eq!(
            write_gitattributes(&ws, true).unwrap().action,
            Action::WouldWrite
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "*.png binary");
        assert_eq!(
            write_gitattributes(&ws, false).unwrap().action,
            Action::Overwritten
        );
        assert_eq!(
            write_gitattributes(&ws, false).unwrap().action,
            Action::Unchanged
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "*.png binary\ndocs/audit/*.jsonl merge=union\n"
        );
    }

    #[test]
    fn action_refs_need_a_full_commit_sha() {
        let sha = "3d3c42e5aac5ba805825da76410c181273ba90b1";
        let action: ActionRef = format!("acme/lifeline@{sha}").parse().unwrap();
        assert_eq!(action.repo, "acme/lifeline");
        assert_eq!(
            action.uses(),
            format!("acme/lifeline@{sha} # v{}", env!("CARGO_PKG_VERSION"))
        );
        for bad in [
            "acme/lifeline@v1",
            "acme/lifeline@3d3c42e",
            "acme/lifeline@3D3C42E5AAC5BA805825DA76410C181273BA90B1",
            &format!("acme@{sha}"),
            &format!("acme/../x@{sha}"),
            &format!("acme/life line@{sha}"),
            "acme/lifeline",
        ] {
            assert!(bad.parse::<ActionRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn health_watches_workflows_by_name_and_skips_missing_and_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let workflows = dir.path().join(WORKFLOWS_DIR);
        std::fs::create_dir_all(&workflows).unwrap();
        std::fs::write(
            workflows.join("task-sync.yml"),
            "name: 'Sync: \"tasks\"'\non: push\n",
        )
        .unwrap();
        std::fs::write(workflows.join("unnamed.yml"), "on: push\n").unwrap();
        let mut ws = Workspace::discover(dir.path(), Some(dir.path()), None).unwrap();
        ws.config.health.workflows = vec![
            "task-sync.yml".into(),
            "unnamed.yml".into(),
            "gone.yml".into(),
            "lifeline-health.yml".into(),
        ];
        let action: ActionRef = "acme/lifeline@3d3c42e5aac5ba805825da76410c181273ba90b1"
            .parse()
            .unwrap();
        let emergency = emergency_workflow_path(&ws).unwrap();
        let (text, note) = health_workflow(&ws, &action, &emergency);
        assert!(
            text.contains(
                "    workflows:\n      - \"Sync: \\\"tasks\\\"\"\n      - \".github/workflows/unnamed.yml\"\n    types: [completed]\n"
            ),
            "{text}"
        );
        let note = note.unwrap();
        assert!(note.contains("gone.yml"), "{note}");
        assert!(note.contains("not watched: lifeline-health.yml"), "{note}");

        ws.config.health.workflows = vec!["gone.yml".into()];
        let (text, _) = health_workflow(&ws, &action, &emergency);
        assert!(!text.contains("workflow_run"), "{text}");
        assert!(text.contains("on:\n  schedule:\n"), "{text}");
    }

    #[test]
    fn emergency_workflow_must_be_a_plain_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = Workspace::discover(dir.path(), Some(dir.path()), None).unwrap();
        assert_eq!(
            emergency_workflow_path(&ws).unwrap(),
            ".github/workflows/lifeline-emergency-recovery.yml"
        );
        for bad in ["../x.yml", "sub/x.yml", "x.txt", ""] {
            ws.config.recover.emergency_workflow = bad.into();
            assert!(emergency_workflow_path(&ws).is_err(), "{bad}");
        }
    }

    #[test]
    fn template_parses_to_the_defaults() {
        let config =
            crate::config::Config::parse(CONFIG_TEMPLATE, std::path::Path::new("lifeline.toml"))
                .unwrap();
        assert_eq!(config, crate::config::Config::default());
    }
}

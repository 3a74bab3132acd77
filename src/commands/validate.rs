//! `lifeline validate [PATH...]`.

use std::path::{Path, PathBuf};

use crate::ci::{self, Env};
use crate::config::Validator;
use crate::error::{Error, Result};
use crate::validate::{self, Report, Target};
use crate::workspace::Workspace;

/// What to validate.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Files to check; empty means the protected set.
    pub paths: Vec<PathBuf>,
    /// A validator for every given path, overriding config and name.
    pub validator: Option<Validator>,
}

/// Validates the protected set, or the given files. A given file that does
/// not exist (or is a directory), or whose validator cannot be chosen
/// (none configured, the name not recognised, no `--validator`), is a usage
/// error; a missing protected file is a finding.
pub fn run(ws: &Workspace, cwd: &Path, options: &ValidateOptions) -> Result<Report> {
    let targets = if options.paths.is_empty() {
        validate::protected_targets(&ws.root, &ws.config)?
    } else {
        options
            .paths
            .iter()
            .map(|p| target_for(ws, cwd, p, options.validator))
            .collect::<Result<Vec<_>>>()?
    };
    validate::validate_targets(&targets)
}

/// Inside GitHub Actions: appends the Markdown summary to
/// `$GITHUB_STEP_SUMMARY` and sets the step outputs `valid`, `errors` and
/// `warnings`. Elsewhere nothing.
pub fn publish_to_actions(env: &dyn Env, report: &Report, passes: bool) -> Result<()> {
    if !ci::in_github_actions(env) {
        return Ok(());
    }
    ci::append_step_summary(env, &crate::validate::render::github::step_summary(report))?;
    ci::set_outputs(
        env,
        &[
            ("valid", passes.to_string()),
            ("errors", report.errors().to_string()),
            ("warnings", report.warnings().to_string()),
        ],
    )
}

fn target_for(
    ws: &Workspace,
    cwd: &Path,
    path: &Path,
    forced: Option<Validator>,
) -> Result<Target> {
    let disk = cwd.join(path);
    // `symlink_metadata`: a named symlink becomes a FILE006 finding below,
    // never followed.
    match std::fs::symlink_metadata(&disk) {
        Ok(meta) if meta.is_dir() => {
            return Err(Error::usage(
                format!("{} is a directory", path.display()),
                Some(
                    "name the files to validate, or give no path to validate the protected set"
                        .into(),
                ),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::usage(
                format!("{}: no such file", path.display()),
                Some("check the path; with no path, lifeline validates the protected set".into()),
            ));
        }
        Err(e) => return Err(Error::io(&disk, e)),
    }
    let inside = ws.relative(cwd, path);
    let name = inside
        .clone()
        .unwrap_or_else(|| path.to_string_lossy().replace('\\', "/"));
    let configured = ws.config.validator_for(&name);
    let validator = forced
        .or(configured)
        .unwrap_or_else(|| Validator::by_name(&name));
    if validator == Validator::None && forced.is_none() {
        // Checking nothing and printing "all valid" would pass a CI step
        // on a file nobody looked at.
        let why = if configured.is_some() {
            "lifeline.toml gives it the validator `none`"
        } else {
            "lifeline.toml does not name it and its name is not one lifeline recognises"
        };
        return Err(Error::usage(
            format!("{name} was not validated: {why}"),
            Some(format!(
                "choose a validator: `lifeline validate --validator <{}> {}`, or give the file one in lifeline.toml ([[protect]] path = \"{name}\", validator = \"task-md\")",
                Validator::ALL
                    .iter()
                    .filter(|v| **v != Validator::None)
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join("|"),
                path.display()
            )),
        ));
    }
    let max_size = ws.config.limits.max_file_size;
    Ok(match inside {
        Some(rel) => Target::in_root(&ws.root, rel, validator, max_size),
        None => Target {
            path: name,
            disk,
            validator,
            root: None,
            max_size,
            odd: None,
        },
    })
}

//! The command line: clap definitions, dispatch, and rendering. Logic lives
//! in [`crate::commands`]; this module parses, calls and prints.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use self::output::Format;
pub(crate) use self::output::Output;
use self::output::formats;
use crate::ci::{Env, ProcessEnv};
use crate::commands;
use crate::config::Validator;
use crate::error::{Error, Result};
use crate::validate::render;
use crate::workspace::Workspace;

mod audit;
mod checkpoint;
mod drill;
mod health;
mod output;
mod recover;
mod report;
mod restore;
mod run;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the check found problems: invalid files, a corrupt checkpoint, a broken audit chain,
     an unhealthy repository, a restore undone, a runbook or drill scenario that failed
  2  usage, configuration or environment error

Start with, in your repository:
  lifeline init --starter       lifeline.toml, the workflows, and planning files if there are none
  lifeline validate             check the planning files
  lifeline checkpoint create    a first checkpoint to roll back to
  git add lifeline.toml .gitattributes .github docs/audit planning && git commit -m \"Adopt lifeline\"
See it at work first: lifeline drill --root examples/sample-repo   (in a clone of lifeline)";

/// Makes repository automation recoverable: validate, checkpoint, restore,
/// audit.
#[derive(Debug, Parser)]
#[command(
    name = "lifeline",
    version,
    about,
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Repository root [default: the git top level of the working directory]
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Configuration file [default: ROOT/lifeline.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print nothing (checkpoint create: its ID alone); the exit code tells the result
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Colour: auto (a terminal without NO_COLOR), always, never
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value_t = ColorChoice::Auto,
        hide_possible_values = true,
        hide_default_value = true
    )]
    pub color: ColorChoice,
}

/// `auto` colours on a terminal, unless NO_COLOR is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

// `defer`: a subcommand's arguments are built only when it is the one
// that runs (here and on every nested subcommand enum). Building all of
// them took ~0.6 ms of every process, a sixth of an `audit log`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Validate the protected files (or the given ones)
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline validate                          # the whole protected set\n",
        "  lifeline validate planning/TASK.md         # one file\n",
        "  lifeline validate --format github          # annotations in a workflow\n",
        "  lifeline validate --root examples/sample-repo\n\n",
        "Exit codes:\n",
        "  0  every file valid (warnings allowed unless --deny-warnings)\n",
        "  1  a file is invalid or missing\n",
        "  2  usage, configuration or I/O error (e.g. a given file does not exist)"
    ))]
    Validate(ValidateArgs),
    /// Inspect the configuration
    #[command(subcommand, after_help = concat!(
        "Examples:\n",
        "  lifeline config show                       # the effective configuration, defaults filled in\n",
        "  lifeline config show --format json | jq '.protect'\n",
        "  lifeline --config ci/lifeline.toml config show\n\n",
        "Exit codes:\n",
        "  0  printed\n",
        "  2  lifeline.toml is invalid (the error names the key and line)"
    ))]
    Config(ConfigCommand),
    /// Set the repository up: lifeline.toml, .gitattributes, the health and emergency workflows
    #[command(after_help = concat!(
        "Writes lifeline.toml, the .gitattributes line for the audit log,\n",
        ".github/workflows/lifeline-health.yml and the emergency-recovery workflow\n",
        "([recover] emergency_workflow). A file that exists and differs is left\n",
        "as it is unless --force (the others are still written, and init exits 2\n",
        "naming it); a rerun changes nothing. A build from source cannot know which\n",
        "release the workflows install: it writes the rest, exits 2 and names the\n",
        "--action command that finishes. --starter also writes planning files for\n",
        "the current sprint where there are none.\n\n",
        "Examples:\n",
        "  lifeline init                  # set the repository up (refuses to overwrite)\n",
        "  lifeline init --starter        # and planning files, in a repository without any\n",
        "  lifeline init --dry-run        # show what would be written\n",
        "  lifeline init --force          # overwrite files that differ\n",
        "  lifeline init --action acme/lifeline@<commit SHA>   # install lifeline from this action\n",
        "  lifeline init --print-example  # how to guard an existing workflow step\n\n",
        "Exit codes:\n",
        "  0  written (or already up to date)\n",
        "  2  a file exists and differs (pass --force), the workflows need --action (a\n",
        "     build from source), a bad flag, or an I/O error"
    ))]
    Init(InitArgs),
    /// Take, list, verify, prune and share checkpoints of the protected set
    #[command(subcommand, after_help = concat!(
        "Examples:\n",
        "  lifeline checkpoint create                 # --type manual, before a hand edit\n",
        "  lifeline checkpoint list\n",
        "  lifeline checkpoint verify latest-valid\n",
        "  lifeline checkpoint prune --keep-last 20 --yes\n",
        "  lifeline checkpoint push                   # share them through the remote\n\n",
        "`lifeline checkpoint <COMMAND> --help` shows each command's exit codes."
    ))]
    Checkpoint(checkpoint::CheckpointCommand),
    /// Write, verify and query the audit trail
    #[command(subcommand, after_help = concat!(
        "Examples:\n",
        "  lifeline audit verify                      # the hash chain is intact\n",
        "  lifeline audit query --component task-sync --result failure\n",
        "  lifeline audit show AUD-019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6071\n",
        "  lifeline audit log --component task-sync --operation workflow_start --detail trigger=schedule\n\n",
        "`lifeline audit <COMMAND> --help` shows each command's exit codes."
    ))]
    Audit(audit::AuditCommand),
    /// Detect failing automation; alert once per problem
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline health                          # report findings\n",
        "  lifeline health --alert github           # one issue per problem, closed when it clears\n",
        "  lifeline health --offline                # local checks only, no GitHub requests\n",
        "  lifeline health --fail-on P2 --format json\n\n",
        "Exit codes:\n",
        "  0  no finding at --fail-on severity or worse (default P1)\n",
        "  1  a finding at --fail-on or worse\n",
        "  2  usage, configuration or environment error (no repository, no token for --alert)"
    ))]
    Health(health::HealthArgs),
    /// Put the protected files back as a checkpoint has them (a transaction)
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline restore latest-valid --dry-run             # the plan, with a diffstat\n",
        "  lifeline restore latest-valid --yes                 # in a workflow (no terminal)\n",
        "  lifeline restore task-sync-20261123 --only planning/TASK.md --yes --commit\n\n",
        "Verifies the checkpoint, plans, confirms (a terminal asks; otherwise --yes\n",
        "is required), takes a pre-restore safety checkpoint, writes atomically,\n",
        "validates, and puts the safety checkpoint back if the result is invalid.\n",
        "It first waits for a guarded step (`lifeline run`) running in this\n",
        "repository to finish (--wait), and a step waits for it.\n\n",
        "Exit codes:\n",
        "  0  restored, nothing to restore, or --dry-run\n",
        "  1  refused (damaged checkpoint or unsafe path), undone (restored files\n",
        "     invalid; the previous state is back), or declined at the prompt\n",
        "  2  no such checkpoint, no terminal and no --yes, a guarded step held\n",
        "     the lock longer than --wait, or a git or I/O error"
    ))]
    Restore(restore::RestoreArgs),
    /// Go back to the state before the last restore
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline undo --dry-run\n",
        "  lifeline undo --yes\n\n",
        "Restores the newest pre-restore checkpoint in the same transaction, as it\n",
        "was (valid or not), and takes one itself, so a second undo redoes. Like\n",
        "restore, it first waits for a running guarded step to finish (--wait).\n\n",
        "Exit codes:\n",
        "  0  undone (or nothing differed)\n",
        "  1  refused (damaged checkpoint), or declined at the prompt\n",
        "  2  no pre-restore checkpoint, no terminal and no --yes, a guarded step\n",
        "     held the lock longer than --wait, or an I/O error"
    ))]
    Undo(restore::UndoArgs),
    /// Run one automation step guarded: checkpoint, run, validate, roll back
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline run --type task-sync -- ./scripts/sync-tasks.sh\n",
        "  lifeline run --retries 3 --idempotent --operation \"label sync\" -- gh label sync\n",
        "  lifeline run --on-failure keep --format json -- python3 rotate.py\n\n",
        "One guarded step runs at a time per repository; another waits (--wait).\n",
        "A failure is classified as rate-limit, auth, merge-conflict, parse-error,\n",
        "corruption or unknown, with the severity [patterns] configures, from the\n",
        "files' validation and what the step writes to $LIFELINE_STEP_STATUS\n",
        "(`curl -D \"$LIFELINE_STEP_STATUS\"`, or `status: 429`, `retry-after: 30`,\n",
        "`pattern: merge-conflict`), never from words it prints. Only rate-limit\n",
        "is retried (--retries with --idempotent). Its output is passed through\n",
        "with secrets redacted (--raw-output for raw bytes).\n\n",
        "Exit codes:\n",
        "  0  the command succeeded and the protected files are valid\n",
        "  N  the command's own non-zero exit code (128+N for signal N, also when\n",
        "     SIGINT or SIGTERM stopped lifeline while no command ran)\n",
        "  1  the command succeeded but left invalid protected files\n",
        "  2  usage error, the checkpoint failed, the command could not start,\n",
        "     or another guarded step held the lock longer than --wait"
    ))]
    Run(run::RunArgs),
    /// Run an emergency runbook and record the incident
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline recover sync-failure-cascade --severity P1 --commit --push\n",
        "  lifeline recover task-file-corruption --severity P2 --checkpoint latest-valid\n",
        "  lifeline recover git-history-corruption --severity P0 --dry-run\n",
        "  lifeline recover resume INC-20261125T120700Z-7f3a\n\n",
        "A runbook first waits for a guarded step (`lifeline run`) running in this\n",
        "repository to finish (--wait), and a step waits for the runbook.\n\n",
        "Exit codes:\n",
        "  0  recovered (or planned with --dry-run, or resumed)\n",
        "  1  the runbook failed or stopped (validation fails afterwards, a conflict needs a person,\n",
        "     a destructive repair needs --yes)\n",
        "  2  usage, configuration or environment error; an actor without authority is refused;\n",
        "     a guarded step held the lock longer than --wait"
    ))]
    Recover(recover::RecoverArgs),
    /// Prove recovery works: inject each failure of the plan into a scratch copy, detect, recover
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline drill --root examples/sample-repo     # every scenario on the bundled example\n",
        "  lifeline drill --scenario truncated-task-md\n",
        "  lifeline drill --format markdown >> \"$GITHUB_STEP_SUMMARY\"\n",
        "  lifeline drill --break store                   # self-test: the restoring scenarios must fail\n\n",
        "Scenarios: merge-conflict-markers, truncated-task-md, corrupted-bytes, sprint-config-corruption,\n",
        "sync-step-fails-mid-write, rejected-push, api-rate-limit, token-expiry, sync-failure-cascade,\n",
        "complete-automation-failure. The working tree and remote are never touched; each scenario\n",
        "runs in a scratch repository, and each result is recorded in the audit log. A scenario\n",
        "passes when its expected detector reported the fault and lifeline recovered it with no\n",
        "data lost; token expiry is \"detected, manual recovery required\" (a person renews tokens).\n\n",
        "Exit codes:\n",
        "  0  no scenario failed\n",
        "  1  a scenario failed (the table says why)\n",
        "  2  usage or environment error"
    ))]
    Drill(drill::DrillArgs),
    /// The plan's success metrics from the audit log, incidents and drills
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline report\n",
        "  lifeline report --since 30d --format json\n",
        "  lifeline report --format markdown >> \"$GITHUB_STEP_SUMMARY\"\n",
        "  lifeline report --format html > report.html   # one self-contained page with charts\n\n",
        "Exit codes:\n",
        "  0  printed\n",
        "  2  usage, configuration or I/O error"
    ))]
    Report(report::ReportArgs),
    /// List, show, annotate and resolve incident records
    #[command(subcommand, after_help = concat!(
        "Examples:\n",
        "  lifeline incident list\n",
        "  lifeline incident show INC-20261125T120700Z-7f3a\n",
        "  lifeline incident note INC-20261125T120700Z-7f3a \"root cause: expired token\"\n",
        "  lifeline incident resolve INC-20261125T120700Z-7f3a --note \"automation re-enabled\"\n\n",
        "`lifeline incident <COMMAND> --help` shows each command's exit codes."
    ))]
    Incident(recover::IncidentCommand),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files to validate [default: the protected set]
    pub paths: Vec<PathBuf>,
    /// Output format [default: github inside GitHub Actions, else text]
    #[arg(long, value_parser = formats(&[Format::Text, Format::Json, Format::Github, Format::Sarif]))]
    pub format: Option<Format>,
    /// Validate the given paths with this validator
    #[arg(long, value_name = "NAME")]
    pub validator: Option<Validator>,
    /// Treat warnings as errors (exit 1 when there are any)
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ConfigCommand {
    /// Print the effective configuration (defaults filled in)
    #[command(after_help = concat!(
        "Examples:\n",
        "  lifeline config show\n",
        "  lifeline config show --format json | jq '.protect'\n\n",
        "Exit codes:\n",
        "  0  printed\n",
        "  2  lifeline.toml is invalid (the error names the key and line)"
    ))]
    Show(ConfigShowArgs),
}

#[derive(Debug, Args)]
pub struct ConfigShowArgs {
    /// Output format
    #[arg(long, value_parser = formats(&[Format::Toml, Format::Json]), default_value_t = Format::Toml)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite files that exist and differ
    #[arg(long)]
    pub force: bool,
    /// Show what would be written; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// The lifeline action the workflows install lifeline with, pinned to a
    /// full commit SHA [default: the release this binary was built by]
    #[arg(long, value_name = "OWNER/NAME@COMMIT")]
    pub action: Option<commands::init::ActionRef>,
    /// Also write planning/TASK.md, sprint.config.json and .github/labels.yml
    /// for the current sprint where there are none
    #[arg(long)]
    pub starter: bool,
    /// Print a workflow showing how to guard an existing automation step; write nothing
    #[arg(long, conflicts_with_all = ["force", "dry_run", "starter"])]
    pub print_example: bool,
}

/// Runs the command line `args` and returns the process exit code.
pub fn main_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 2,
            };
        }
    };
    let quiet = cli.global.quiet;
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if !quiet {
                print_error(&e);
            }
            e.exit_code()
        }
    }
}

fn print_error(e: &Error) {
    let mut stderr = std::io::stderr().lock();
    let text = crate::redact::redact(&e.to_string()).into_owned();
    let _ = writeln!(stderr, "error: {text}");
    if let Some(help) = e.help() {
        let _ = writeln!(stderr, "  help: {help}");
    }
}

fn run(cli: Cli) -> Result<i32> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let env = ProcessEnv;
    // Secrets are redacted from everything printed or written from here
    // on; the configured `secret_env` ones join once the config is read.
    crate::redact::register_env_secrets(&env, &[]);
    if let Command::Init(args) = &cli.command
        && args.print_example
    {
        // Needs no repository: it only prints.
        return print_example(cli.global.quiet, args);
    }
    let ws = Workspace::discover(
        &cwd,
        cli.global.root.as_deref(),
        cli.global.config.as_deref(),
    )?;
    crate::redact::register_env_secrets(&env, &ws.config.audit.secret_env);
    let color = match cli.global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stdout().is_terminal() && env.var("NO_COLOR").is_none(),
    };
    let out = Output {
        quiet: cli.global.quiet,
        color,
    };
    match cli.command {
        Command::Validate(args) => validate(&ws, &cwd, &env, &out, args),
        Command::Config(ConfigCommand::Show(args)) => config_show(&ws, &out, args),
        Command::Init(args) => init(&ws, &out, args),
        Command::Checkpoint(cmd) => checkpoint::run(&ws, &cwd, &env, &out, cmd),
        Command::Audit(cmd) => audit::run(&ws, &cwd, &env, &out, cmd),
        Command::Health(args) => health::run(&ws, &env, &out, args),
        Command::Restore(args) => restore::restore(&ws, &cwd, &env, &out, args),
        Command::Undo(args) => restore::undo(&ws, &env, &out, args),
        Command::Run(args) => run::run(&ws, &env, &out, args),
        Command::Recover(args) => recover::run(&ws, &env, &out, args),
        Command::Incident(cmd) => recover::incident(&ws, &out, cmd),
        Command::Drill(args) => drill::run(&ws, &cwd, &env, &out, args),
        Command::Report(args) => report::run(&ws, &env, &out, args),
    }
}

/// Prints one line to stderr, secrets redacted.
pub(crate) fn eprint_line(text: std::fmt::Arguments<'_>) {
    let text = text.to_string();
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", crate::redact::redact(&text));
}

fn validate(
    ws: &Workspace,
    cwd: &Path,
    env: &dyn Env,
    out: &Output,
    args: ValidateArgs,
) -> Result<i32> {
    let options = commands::validate::ValidateOptions {
        paths: args.paths,
        validator: args.validator,
    };
    let report = commands::validate::run(ws, cwd, &options)?;
    let in_actions = crate::ci::in_github_actions(env);
    let format = match args.format {
        Some(format) => format,
        None if in_actions => Format::Github,
        None => Format::Text,
    };
    let options = render::Options {
        color: out.color,
        root: Some(ws.root.clone()),
        ..render::Options::default()
    };
    out.print(|w| match format {
        Format::Json => render::json::render(&report, w),
        Format::Github => render::github::render(&report, w),
        Format::Sarif => render::sarif::render(&report, w, options.root.as_deref()),
        _ => render::text::render_with(&report, w, options.color, options.term_width),
    })?;
    let passes = report.passes(args.deny_warnings);
    commands::validate::publish_to_actions(env, &report, passes)?;
    Ok(if passes { 0 } else { 1 })
}

fn config_show(ws: &Workspace, out: &Output, args: ConfigShowArgs) -> Result<i32> {
    let effective = commands::config::show(ws);
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&effective).expect("config serializes") + "\n",
        _ => {
            let origin = if effective.found {
                format!(
                    "# effective configuration from {}\n",
                    effective.path.display()
                )
            } else {
                format!(
                    "# effective configuration: defaults ({} not found)\n",
                    effective.path.display()
                )
            };
            let body = toml::to_string_pretty(effective.config)
                .map_err(|e| Error::usage(format!("cannot print the configuration: {e}"), None))?;
            let excluded = format!(
                "# never protected, whatever the globs say (lifeline's own records and git's): {}\n",
                effective.excluded.join(", ")
            );
            origin + &excluded + &body
        }
    };
    out.print(|w| w.write_all(text.as_bytes()))?;
    Ok(0)
}

fn init(ws: &Workspace, out: &Output, args: InitArgs) -> Result<i32> {
    let options = commands::init::InitOptions {
        force: args.force,
        dry_run: args.dry_run,
        action: args.action,
        starter: args.starter,
    };
    let outcomes = commands::init::run(ws, &options)?;
    let shown = |path: &Path| {
        path.strip_prefix(&ws.root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    // stdout: one line per file written or checked; stderr: what was
    // skipped, and notes.
    out.print(|w| {
        for o in &outcomes {
            let verb = match o.action {
                commands::init::Action::Created => "created",
                commands::init::Action::Overwritten => "overwrote",
                commands::init::Action::Unchanged => "unchanged",
                commands::init::Action::WouldWrite => "would write",
                commands::init::Action::Kept => "kept",
                commands::init::Action::Skipped => continue,
            };
            writeln!(w, "{verb:>11}  {}", shown(&o.path))?;
        }
        Ok(())
    })?;
    if !out.quiet {
        let mut stderr = std::io::stderr().lock();
        for o in &outcomes {
            let Some(note) = &o.note else { continue };
            let kind = if o.action == commands::init::Action::Skipped {
                "warning: skipped"
            } else {
                "note:"
            };
            let _ = writeln!(stderr, "{kind} {}: {note}", shown(&o.path));
        }
    }
    match commands::init::unfinished_error(&ws.root, &outcomes) {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

fn print_example(quiet: bool, args: &InitArgs) -> Result<i32> {
    let action = args
        .action
        .clone()
        .or_else(commands::init::ActionRef::of_this_release);
    let text = commands::init::example(action.as_ref());
    let out = Output {
        quiet,
        color: false,
    };
    out.print(|w| w.write_all(text.as_bytes()))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}

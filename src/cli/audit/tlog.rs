//! The transparency subcommands (`audit checkpoint`, `prove`,
//! `verify-proof`, `cosign`): parses, calls [`crate::commands::audit::tlog`],
//! renders.

use std::path::PathBuf;

use clap::Args;

use super::json_line;
use crate::audit::tlog::Made;
use crate::ci::Env;
use crate::cli::Output;
use crate::cli::output::{Format, TEXT_JSON, formats};
use crate::commands::audit::tlog::{self as cmd, Cosigned, Proof, Proved};
use crate::error::Result;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The log's origin line and key name [default: lifeline/OWNER/REPO from
    /// GITHUB_REPOSITORY, [github] repo, or the origin remote]
    #[arg(long, value_name = "ORIGIN")]
    pub origin: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The entry to prove included (AUD-...)
    #[arg(value_name = "AUDIT_ID", required_unless_present = "consistency")]
    pub audit_id: Option<String>,
    /// Prove instead that the tree of OLD_SIZE entries is a prefix of the newest checkpoint's
    #[arg(long, value_name = "OLD_SIZE", conflicts_with = "audit_id")]
    pub consistency: Option<u64>,
    /// The size of the newer checkpoint (a recorded one) [default: the newest]
    #[arg(long, value_name = "NEW_SIZE", requires = "consistency")]
    pub to: Option<u64>,
    /// Output format
    #[arg(long, value_parser = formats(TEXT_JSON), default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct VerifyProofArgs {
    /// A proof written by `lifeline audit prove --format json`
    pub file: PathBuf,
    /// Also check the checkpoint signatures with this public key (64 hex digits)
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// The older checkpoint of a consistency proof, as kept by the reviewer
    /// [default: the one in the proof]
    #[arg(long, value_name = "NOTE_FILE")]
    pub old_checkpoint: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CosignArgs {
    /// The witness's key name (for example compliance.example.com/audit-witness)
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The log's public key: the checkpoint must carry its signature
    #[arg(long, value_name = "FILE")]
    pub public_key: PathBuf,
    /// The witness's state: the last checkpoint it cosigned (created on first use)
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
}

pub(super) fn checkpoint(
    ws: &Workspace,
    env: &dyn Env,
    out: &Output,
    args: CheckpointArgs,
) -> Result<i32> {
    match cmd::checkpoint(ws, env, args.origin)? {
        Made::New(record) | Made::Unchanged(record) => {
            out.print(|w| write!(w, "{}", record.note))?;
            Ok(0)
        }
        Made::Refused(why) => {
            if !out.quiet {
                eprintln!("error: no checkpoint: {why}");
            }
            Ok(1)
        }
    }
}

pub(super) fn prove(ws: &Workspace, out: &Output, args: ProveArgs) -> Result<i32> {
    let options = cmd::ProveOptions {
        audit_id: args.audit_id,
        consistency: args.consistency,
        to: args.to,
    };
    let proof = match cmd::prove(ws, &options)? {
        Proved::Proof(proof) => proof,
        Proved::NoEntry { audit_id, dir } => {
            if !out.quiet {
                eprintln!("error: no entry {audit_id} in {dir}");
            }
            return Ok(1);
        }
        Proved::Removed { entries, size } => {
            if !out.quiet {
                eprintln!(
                    "error: the log has {entries} entries but the checkpoint covers {size}: entries were removed; run `lifeline audit verify`"
                );
            }
            return Ok(1);
        }
        Proved::Mismatch { size } => {
            if !out.quiet {
                eprintln!(
                    "error: the log no longer matches the checkpoint of {size} entries: history was rewritten; run `lifeline audit verify`"
                );
            }
            return Ok(1);
        }
    };
    out.print(|w| match args.format {
        Format::Json => json_line(w, &proof),
        _ => {
            match &proof {
                Proof::Inclusion(p) => writeln!(
                    w,
                    "{} is leaf {} of the checkpoint of {} entries ({} hashes)",
                    p.audit_id,
                    p.leaf_index,
                    p.tree_size,
                    p.inclusion_path.len()
                )?,
                Proof::Consistency(p) => writeln!(
                    w,
                    "the first {} entries are a prefix of the checkpoint of {} ({} hashes)",
                    p.old_size,
                    p.new_size,
                    p.consistency_path.len()
                )?,
            }
            writeln!(w, "for a file a reviewer can check: --format json")
        }
    })?;
    Ok(0)
}

pub(super) fn verify_proof(out: &Output, args: VerifyProofArgs) -> Result<i32> {
    let check = cmd::verify_proof(&cmd::VerifyProofOptions {
        file: args.file,
        public_key: args.public_key,
        old_checkpoint: args.old_checkpoint,
    })?;
    out.print(|w| {
        if check.problems.is_empty() {
            writeln!(w, "valid: {}", check.what)?;
            if !check.signatures_checked {
                writeln!(
                    w,
                    "note: signatures not checked; pass --public-key to check them"
                )?;
            }
        } else {
            for p in &check.problems {
                writeln!(w, "invalid: {p}")?;
            }
        }
        Ok(())
    })?;
    Ok(if check.problems.is_empty() { 0 } else { 1 })
}

pub(super) fn cosign(ws: &Workspace, env: &dyn Env, out: &Output, args: CosignArgs) -> Result<i32> {
    let options = cmd::CosignOptions {
        name: args.name,
        public_key: args.public_key,
        state: args.state,
    };
    match cmd::cosign(ws, env, &options)? {
        Cosigned::Note(text) => {
            out.print(|w| write!(w, "{text}"))?;
            Ok(0)
        }
        Cosigned::Refused(why) => {
            if !out.quiet {
                eprintln!("error: not cosigned: {why}");
            }
            Ok(1)
        }
    }
}

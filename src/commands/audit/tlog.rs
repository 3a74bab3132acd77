//! The transparency verbs: `audit checkpoint`, `prove`, `verify-proof`,
//! `cosign`, and the checkpoint part of `audit verify`. Each returns a
//! typed result; refusals that exit 1 are values, not errors.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::audit::merkle::{self, Hash};
use crate::audit::note::{self, Checkpoint, Note};
use crate::audit::signing::{self, SigningKey, VerifyingKey};
use crate::audit::tlog::{self, Made};
use crate::audit::verify::{Finding, FindingKind};
use crate::audit::{self};
use crate::ci::Env;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The environment variable holding a witness's private key.
pub const COSIGN_KEY_ENV: &str = "LIFELINE_COSIGN_KEY";
/// Proof and note files larger than this are not proofs.
const MAX_INPUT: u64 = 4 << 20;

/// The checkpoint origin: `--origin`, else `lifeline/OWNER/REPO` from
/// `GITHUB_REPOSITORY`, `[github] repo` or the origin remote, else
/// `lifeline/local`.
pub(crate) fn origin_of(ws: &Workspace, env: &dyn Env, flag: Option<String>) -> Result<String> {
    let origin = flag.unwrap_or_else(|| {
        let git = crate::git::Git::new(&ws.root);
        crate::github::RepoName::resolve(None, env, ws.config.github.repo.as_deref(), Some(&git))
            .map_or_else(
                |_| "lifeline/local".to_string(),
                |repo| format!("lifeline/{}/{}", repo.owner, repo.name),
            )
    });
    if !note::valid_name(&origin) {
        return Err(Error::usage(
            format!("--origin {origin:?} cannot be a key name (no spaces, no `+`)"),
            Some("use lifeline/OWNER/REPO".to_string()),
        ));
    }
    Ok(origin)
}

fn required_key(env: &dyn Env, var: &str) -> Result<SigningKey> {
    let text = env.var(var).ok_or_else(|| {
        Error::environment(
            format!("{var} is not set"),
            Some("set it to a 64-hex-digit private key (`openssl rand -hex 32`)".to_string()),
        )
    })?;
    let mut seed = [0u8; 32];
    let text = text.trim();
    if text.len() != 64 || hex::decode_to_slice(text, &mut seed).is_err() {
        return Err(Error::environment(
            format!("{var} is not an ed25519 private key (64 hex digits)"),
            Some("generate one with `openssl rand -hex 32` and store it as a secret".to_string()),
        ));
    }
    Ok(SigningKey::from_bytes(&seed))
}

fn read_small(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() || meta.len() > MAX_INPUT {
        return Err(Error::usage(
            format!("{}: not a regular file of at most 4 MiB", path.display()),
            None,
        ));
    }
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn parse_note(path: &Path) -> Result<(Note, Checkpoint)> {
    let text = read_small(path)?;
    let note = Note::parse(&text)
        .map_err(|e| Error::usage(format!("{}: not a signed note: {e}", path.display()), None))?;
    let cp = Checkpoint::parse(&note.text)
        .map_err(|e| Error::usage(format!("{}: not a checkpoint: {e}", path.display()), None))?;
    Ok((note, cp))
}

/// `audit checkpoint`: signs and records a checkpoint of the whole log
/// with `LIFELINE_AUDIT_KEY` under `origin` (see [`origin_of`]).
pub fn checkpoint(ws: &Workspace, env: &dyn Env, origin: Option<String>) -> Result<Made> {
    let key = required_key(env, signing::KEY_ENV)?;
    let origin = origin_of(ws, env, origin)?;
    let log = audit::Log::of(ws)?;
    tlog::checkpoint(&log, &origin, &key)
}

fn hexes(path: &[Hash]) -> Vec<String> {
    path.iter().map(hex::encode).collect()
}

/// `audit prove`: an inclusion proof for `audit_id`, or with
/// `consistency`, a consistency proof from that size.
#[derive(Debug, Clone, Default)]
pub struct ProveOptions {
    pub audit_id: Option<String>,
    pub consistency: Option<u64>,
    /// The size of the recorded checkpoint to prove against (default: the
    /// newest).
    pub to: Option<u64>,
}

/// An RFC 9162 inclusion proof, as `prove --format json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct InclusionProof {
    pub audit_id: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub entry_hash: String,
    pub inclusion_path: Vec<String>,
    /// The signed note of the checkpoint.
    pub checkpoint: String,
}

/// An RFC 9162 consistency proof, as `prove --format json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    pub consistency_path: Vec<String>,
    pub checkpoint: String,
    /// The older checkpoint, when one of that size is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_checkpoint: Option<String>,
}

/// One proof.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Proof {
    Inclusion(InclusionProof),
    Consistency(ConsistencyProof),
}

/// What `prove` found; everything but [`Proved::Proof`] exits 1.
#[derive(Debug, Clone)]
pub enum Proved {
    Proof(Proof),
    /// No entry `audit_id` in the audit directory `dir`.
    NoEntry {
        audit_id: String,
        dir: String,
    },
    /// The log has fewer entries than the checkpoint covers.
    Removed {
        entries: usize,
        size: usize,
    },
    /// The log no longer matches the checkpoint of `size` entries.
    Mismatch {
        size: u64,
    },
}

/// Proves against the newest (or the `to`) recorded checkpoint: from the
/// leaf cache first; if that proof does not check out against the signed
/// root, from the whole log read once more.
pub fn prove(ws: &Workspace, options: &ProveOptions) -> Result<Proved> {
    let log = audit::Log::of(ws)?;
    let records = tlog::records(&log)?;
    let no_checkpoint = || {
        Error::usage(
            "no checkpoint is recorded yet",
            Some("run `lifeline audit checkpoint` (with LIFELINE_AUDIT_KEY) first".to_string()),
        )
    };
    let target = match options.to {
        Some(size) => records
            .iter()
            .rev()
            .find(|r| r.size == size)
            .ok_or_else(|| {
                Error::usage(
                    format!("no checkpoint of size {size} is recorded"),
                    Some(format!(
                        "recorded sizes: {}",
                        records
                            .iter()
                            .map(|r| r.size.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                )
            })?,
        None => records.last().ok_or_else(no_checkpoint)?,
    };
    let (_, cp) = target.checkpoint().map_err(|e| {
        Error::usage(
            format!(
                "{}: the checkpoint of size {} is damaged: {e}",
                log.display(tlog::CHECKPOINTS_FILE),
                target.size
            ),
            Some("run `lifeline audit verify --public-key KEY`".to_string()),
        )
    })?;
    let size = cp.size as usize;
    let cache_dir = crate::audit::query::index_dir(&ws.root, &log)?;
    let want = options.audit_id.as_deref().map(tlog::id_of);
    for fresh in [false, true] {
        let hashes = tlog::cached_leaves(&log, &cache_dir, fresh)?;
        if hashes.len() < size {
            if !fresh {
                continue;
            }
            return Ok(Proved::Removed {
                entries: hashes.len(),
                size,
            });
        }
        let leaves: Vec<Hash> = hashes[..size]
            .iter()
            .map(|(_, h)| merkle::leaf_hash(h))
            .collect();
        let found = want
            .filter(|w| *w != 0)
            .and_then(|w| hashes.iter().position(|(id, _)| *id == w))
            .map(|i| i as u64);
        let proof = if let Some(old) = options.consistency {
            if old > cp.size {
                return Err(Error::usage(
                    format!(
                        "--consistency {old} is larger than the checkpoint ({})",
                        cp.size
                    ),
                    None,
                ));
            }
            let path = merkle::consistency_path(old as usize, &leaves);
            let old_root = merkle::root(&leaves[..old as usize]);
            if !merkle::verify_consistency(old, cp.size, &old_root, &cp.root, &path) {
                if fresh {
                    return Ok(Proved::Mismatch { size: cp.size });
                }
                continue;
            }
            let old_checkpoint = records
                .iter()
                .rev()
                .find(|r| r.size == old && r.root == hex::encode(old_root))
                .map(|r| r.note.clone());
            Proof::Consistency(ConsistencyProof {
                old_size: old,
                new_size: cp.size,
                consistency_path: hexes(&path),
                checkpoint: target.note.clone(),
                old_checkpoint,
            })
        } else {
            let id = options.audit_id.clone().unwrap_or_default();
            let Some(index) = found else {
                return Ok(Proved::NoEntry {
                    audit_id: id,
                    dir: log.rel_dir.clone(),
                });
            };
            if index >= cp.size {
                return Err(Error::usage(
                    format!(
                        "{id} is entry {index}, newer than the newest checkpoint (size {})",
                        cp.size
                    ),
                    Some("run `lifeline audit checkpoint`, then prove again".to_string()),
                ));
            }
            let i = index as usize;
            let path = merkle::inclusion_path(i, &leaves);
            if !merkle::verify_inclusion(index, cp.size, &leaves[i], &path, &cp.root) {
                if fresh {
                    return Ok(Proved::Mismatch { size: cp.size });
                }
                continue;
            }
            Proof::Inclusion(InclusionProof {
                audit_id: id,
                leaf_index: index,
                tree_size: cp.size,
                entry_hash: hex::encode(hashes[i].1),
                inclusion_path: hexes(&path),
                checkpoint: target.note.clone(),
            })
        };
        return Ok(Proved::Proof(proof));
    }
    unreachable!("the second, fresh pass always returns")
}

fn field<'a>(v: &'a Value, key: &str, file: &Path) -> Result<&'a Value> {
    v.get(key).ok_or_else(|| {
        Error::usage(
            format!("{}: `{key}` is missing", file.display()),
            Some("write proofs with `lifeline audit prove ... --format json`".to_string()),
        )
    })
}

fn hash_list(v: &Value, key: &str, file: &Path) -> Result<Vec<Hash>> {
    field(v, key, file)?
        .as_array()
        .and_then(|a| {
            a.iter()
                .map(|h| h.as_str().and_then(crate::audit::verify::parse_hash))
                .collect::<Option<Vec<_>>>()
        })
        .filter(|p| p.len() <= 64)
        .ok_or_else(|| {
            Error::usage(
                format!(
                    "{}: `{key}` is not a list of at most 64 hashes of 64 hex digits",
                    file.display()
                ),
                None,
            )
        })
}

fn number(v: &Value, key: &str, file: &Path) -> Result<u64> {
    field(v, key, file)?.as_u64().ok_or_else(|| {
        Error::usage(
            format!("{}: `{key}` is not a non-negative integer", file.display()),
            None,
        )
    })
}

fn note_in(v: &Value, key: &str, file: &Path) -> Result<(Note, Checkpoint)> {
    let text = field(v, key, file)?.as_str().ok_or_else(|| {
        Error::usage(format!("{}: `{key}` is not a string", file.display()), None)
    })?;
    let note = Note::parse(text).map_err(|e| {
        Error::usage(
            format!("{}: `{key}` is not a signed note: {e}", file.display()),
            None,
        )
    })?;
    let cp = Checkpoint::parse(&note.text).map_err(|e| {
        Error::usage(
            format!("{}: `{key}` is not a checkpoint: {e}", file.display()),
            None,
        )
    })?;
    Ok((note, cp))
}

/// `audit verify-proof`: a proof file, checked offline.
#[derive(Debug, Clone)]
pub struct VerifyProofOptions {
    pub file: PathBuf,
    /// The log's public key, to check the checkpoint signatures.
    pub public_key: Option<PathBuf>,
    /// The older checkpoint of a consistency proof, as the reviewer kept it.
    pub old_checkpoint: Option<PathBuf>,
}

/// What `verify-proof` concluded.
#[derive(Debug, Clone)]
pub struct ProofCheck {
    /// What the proof shows, when valid.
    pub what: String,
    /// Why it is invalid (empty: valid).
    pub problems: Vec<String>,
    /// Whether signatures were checked (a public key was given).
    pub signatures_checked: bool,
}

/// Checks an inclusion or consistency proof without the repository.
pub fn verify_proof(options: &VerifyProofOptions) -> Result<ProofCheck> {
    let args = options;
    let file = args.file.as_path();
    let text = read_small(file)?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: not JSON: {e}", file.display()), None))?;
    let key = args
        .public_key
        .as_deref()
        .map(signing::read_public_key)
        .transpose()?;
    let (note, cp) = note_in(&v, "checkpoint", file)?;
    let mut problems = Vec::new();
    let signed = |note: &Note, cp: &Checkpoint, which: &str, problems: &mut Vec<String>| {
        if let Some(k) = &key
            && !note.signed_by(&cp.origin, k)
        {
            problems.push(format!(
                "the {which} is not signed by --public-key for {}",
                cp.origin
            ));
        }
    };
    signed(&note, &cp, "checkpoint", &mut problems);
    let what;
    if v.get("inclusion_path").is_some() {
        let index = number(&v, "leaf_index", file)?;
        let size = number(&v, "tree_size", file)?;
        let path = hash_list(&v, "inclusion_path", file)?;
        let entry = field(&v, "entry_hash", file)?
            .as_str()
            .and_then(crate::audit::verify::parse_hash)
            .ok_or_else(|| {
                Error::usage(
                    format!("{}: `entry_hash` is not 64 hex digits", file.display()),
                    None,
                )
            })?;
        if size != cp.size {
            problems.push(format!(
                "tree_size {size} is not the checkpoint's size {}",
                cp.size
            ));
        } else if !merkle::verify_inclusion(
            index,
            size,
            &merkle::leaf_hash(&entry),
            &path,
            &cp.root,
        ) {
            problems.push("the inclusion path does not lead to the checkpoint's root".into());
        }
        what = format!(
            "entry {} is leaf {index} of {} at size {size}",
            short(&entry),
            cp.origin
        );
    } else if v.get("consistency_path").is_some() {
        let old = number(&v, "old_size", file)?;
        let new = number(&v, "new_size", file)?;
        let path = hash_list(&v, "consistency_path", file)?;
        let (old_note, old_cp) = match &args.old_checkpoint {
            Some(p) => parse_note(p)?,
            None if old == 0 => {
                let empty = Checkpoint {
                    origin: cp.origin.clone(),
                    size: 0,
                    root: merkle::empty_root(),
                    extensions: Vec::new(),
                };
                (note.clone(), empty)
            }
            None => note_in(&v, "old_checkpoint", file).map_err(|_| {
                Error::usage(
                    format!(
                        "{}: a consistency proof needs the older checkpoint",
                        file.display()
                    ),
                    Some("pass the one you kept: --old-checkpoint NOTE_FILE".to_string()),
                )
            })?,
        };
        if old > 0 {
            signed(&old_note, &old_cp, "older checkpoint", &mut problems);
        }
        if old_cp.origin != cp.origin {
            problems.push(format!(
                "the checkpoints are of two logs: {} and {}",
                old_cp.origin, cp.origin
            ));
        }
        if old_cp.size != old || new != cp.size {
            problems.push(format!(
                "the proof is for sizes {old} → {new}, the checkpoints are of {} and {}",
                old_cp.size, cp.size
            ));
        } else if !merkle::verify_consistency(old, new, &old_cp.root, &cp.root, &path) {
            problems.push("the consistency path does not join the two roots: the newer log is not an extension of the older".into());
        }
        what = format!(
            "{} at size {old} is a prefix of the log at size {new}",
            cp.origin
        );
    } else {
        return Err(Error::usage(
            format!(
                "{}: neither `inclusion_path` nor `consistency_path`",
                file.display()
            ),
            Some("write proofs with `lifeline audit prove ... --format json`".to_string()),
        ));
    }
    Ok(ProofCheck {
        what,
        problems,
        signatures_checked: key.is_some(),
    })
}

fn short(h: &Hash) -> String {
    hex::encode(&h[..6])
}

/// Findings of `audit verify --checkpoint`: each kept note must be signed
/// by `key` and the current log must extend it.
pub(crate) fn check_kept(
    log: &audit::Log,
    key: &VerifyingKey,
    notes: &[PathBuf],
) -> Result<Vec<Finding>> {
    let parsed = notes
        .iter()
        .map(|p| parse_note(p).map(|(n, c)| (p, n, c)))
        .collect::<Result<Vec<_>>>()?;
    let sizes: Vec<u64> = parsed.iter().map(|(_, _, c)| c.size).collect();
    let (roots, total) = tlog::roots_at(log, &sizes)?;
    let mut findings = Vec::new();
    for (path, note, cp) in &parsed {
        let shown = path.display().to_string();
        if !note.signed_by(&cp.origin, key) {
            findings.push(Finding {
                file: shown,
                line: None,
                kind: FindingKind::BadSignature,
                message: format!(
                    "the checkpoint is not signed by --public-key for {}",
                    cp.origin
                ),
            });
        } else if let Some(why) = tlog::consistency_problem(cp, &roots, total) {
            findings.push(Finding {
                file: shown,
                line: None,
                kind: FindingKind::Inconsistent,
                message: format!("the log is not an extension of this checkpoint: {why}"),
            });
        }
    }
    Ok(findings)
}

/// Findings about `checkpoints.jsonl` under `audit verify --public-key`.
pub(crate) fn check_records(log: &audit::Log, key: &VerifyingKey) -> Result<Vec<Finding>> {
    Ok(tlog::check_records(log, key)?
        .into_iter()
        .map(|p| Finding {
            file: log.display(tlog::CHECKPOINTS_FILE),
            line: p.line,
            kind: p.kind,
            message: p.message,
        })
        .collect())
}

/// `audit cosign`: as the witness `name`, cosigns the newest checkpoint.
#[derive(Debug, Clone)]
pub struct CosignOptions {
    /// The witness's key name.
    pub name: String,
    /// The log's public key.
    pub public_key: PathBuf,
    /// The witness's state: the last checkpoint it cosigned.
    pub state: PathBuf,
}

/// What `cosign` did.
#[derive(Debug, Clone)]
pub enum Cosigned {
    /// The cosigned note, also written to the state and recorded.
    Note(String),
    /// Why the witness refused (exit 1).
    Refused(String),
}

/// Cosigns the newest checkpoint with `LIFELINE_COSIGN_KEY` after checking
/// it is signed by the log's key and extends the one cosigned before.
pub fn cosign(ws: &Workspace, env: &dyn Env, options: &CosignOptions) -> Result<Cosigned> {
    let args = options;
    let key = required_key(env, COSIGN_KEY_ENV)?;
    if !note::valid_name(&args.name) {
        return Err(Error::usage(
            format!(
                "--name {:?} cannot be a key name (no spaces, no `+`)",
                args.name
            ),
            None,
        ));
    }
    let log_key = signing::read_public_key(&args.public_key)?;
    let log = audit::Log::of(ws)?;
    let records = tlog::records(&log)?;
    let refuse = |why: String| -> Result<Cosigned> { Ok(Cosigned::Refused(why)) };
    let Some(record) = records.last() else {
        return Err(Error::usage(
            "no checkpoint is recorded yet",
            Some("the log's owner runs `lifeline audit checkpoint` first".to_string()),
        ));
    };
    let Ok((mut note, cp)) = record.checkpoint() else {
        return refuse("the newest recorded checkpoint is damaged".into());
    };
    if !note.signed_by(&cp.origin, &log_key) {
        return refuse(format!(
            "the newest checkpoint is not signed by {} for {}",
            args.public_key.display(),
            cp.origin
        ));
    }
    let previous = match std::fs::symlink_metadata(&args.state) {
        Ok(_) => {
            let (old_note, old_cp) = parse_note(&args.state)?;
            if old_note
                .cosigned_by(&args.name, &key.verifying_key())
                .is_none()
            {
                return Err(Error::usage(
                    format!(
                        "{}: not a checkpoint this key cosigned as {}",
                        args.state.display(),
                        args.name
                    ),
                    Some("point --state at this witness's own state file".to_string()),
                ));
            }
            Some(old_cp)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&args.state, e)),
    };
    let mut sizes = vec![cp.size];
    if let Some(old) = &previous {
        if old.origin != cp.origin {
            return refuse(format!(
                "the state is for {}, the checkpoint for {}",
                old.origin, cp.origin
            ));
        }
        if old.size > cp.size {
            return refuse(format!(
                "the newest checkpoint ({} entries) is older than the one cosigned before ({}): the log was rolled back",
                cp.size, old.size
            ));
        }
        sizes.push(old.size);
    }
    let (roots, total) = tlog::roots_at(&log, &sizes)?;
    for c in previous.iter().chain(std::iter::once(&cp)) {
        if let Some(why) = tlog::consistency_problem(c, &roots, total) {
            return refuse(format!("checkpoint of size {}: {why}", c.size));
        }
    }
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    note.cosign(&args.name, &key, now);
    let text = note.render();
    crate::fs::atomic::write(&args.state, text.as_bytes(), None)?;
    tlog::record_cosigned(&log, record, &note)?;
    Ok(Cosigned::Note(text))
}

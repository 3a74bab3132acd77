//! Signed heads (older releases; checkpoints in [`super::tlog`] replace
//! them): with an ed25519 key in `LIFELINE_AUDIT_KEY`, `audit seal`
//! appended to `signed-heads.jsonl` a statement "the log ended at this hash
//! with this many entries", signed. `audit verify --public-key FILE` checks
//! every statement and treats the signed heads as recorded heads, so
//! cutting entries off the end, or inserting a branch before a signed head,
//! is a finding even for someone who can rewrite the whole log.
//!
//! Keys are 32 bytes written as 64 hex digits: the private seed in the
//! environment, the public key in a file. Neither is ever printed, except
//! the public key by `audit public-key`.

use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};

use super::canonical;
use super::store::{Appended, Log};
use super::verify::{Finding, FindingKind};
use crate::error::{Error, IoContext, Result};

pub use ed25519_dalek::{SigningKey, VerifyingKey};

/// The environment variable holding the private key.
pub const KEY_ENV: &str = "LIFELINE_AUDIT_KEY";
/// The signed-heads file in the audit directory.
pub const FILE_NAME: &str = "signed-heads.jsonl";

/// Reads the private key from `LIFELINE_AUDIT_KEY`, if set.
pub fn key_from_env(env: &dyn crate::ci::Env) -> Result<Option<SigningKey>> {
    let Some(text) = env.var(KEY_ENV) else {
        return Ok(None);
    };
    let bytes = decode32(text.trim()).ok_or_else(|| {
        Error::environment(
            format!("{KEY_ENV} is not an ed25519 private key (64 hex digits)"),
            Some("generate one with `openssl rand -hex 32` and store it as a secret".to_string()),
        )
    })?;
    Ok(Some(SigningKey::from_bytes(&bytes)))
}

/// Reads a public key file (64 hex digits).
pub fn read_public_key(path: &std::path::Path) -> Result<VerifyingKey> {
    let text = std::fs::read_to_string(path).at(path)?;
    decode32(text.trim())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| {
            Error::usage(
                format!(
                    "{}: not an ed25519 public key (64 hex digits)",
                    path.display()
                ),
                Some(
                    "`lifeline audit public-key > FILE` writes it from LIFELINE_AUDIT_KEY"
                        .to_string(),
                ),
            )
        })
}

fn decode32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    (text.len() == 64).then_some(())?;
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Appends a signed statement about `head` to the signed-heads file and
/// returns that file's repo-relative name. Releases before checkpoints
/// wrote these from `audit seal`; lifeline still reads them, and tests
/// write them with this to check that.
pub fn sign_heads(log: &Log, key: &SigningKey, head: &Appended, entries: usize) -> Result<String> {
    let mut statement = Map::new();
    statement.insert("schema".into(), 1.into());
    statement.insert(
        "timestamp".into(),
        super::entry::timestamp(jiff::Timestamp::now()).into(),
    );
    statement.insert(
        "heads".into(),
        Value::Array(vec![Value::String(head.hash.clone())]),
    );
    statement.insert("seq".into(), head.seq.into());
    statement.insert("entries".into(), entries.into());
    statement.insert(
        "public_key".into(),
        hex::encode(key.verifying_key().as_bytes()).into(),
    );
    let message = signed_bytes(&statement);
    use ed25519_dalek::Signer;
    let signature = key.sign(&message);
    statement.insert("signature".into(), hex::encode(signature.to_bytes()).into());
    let mut line = canonical::to_string(&Value::Object(statement));
    line.push('\n');
    let path = log.dir.join(FILE_NAME);
    let mut file = log.open_append(FILE_NAME)?;
    file.write_all(line.as_bytes()).at(&path)?;
    file.sync_data().at(&path)?;
    Ok(log.display(FILE_NAME))
}

/// The bytes a statement's signature covers: its JCS form without
/// `signature`.
fn signed_bytes(statement: &Map<String, Value>) -> Vec<u8> {
    let mut text = String::new();
    canonical::write_object(&mut text, statement, Some("signature"));
    text.into_bytes()
}

/// A signed head that verified.
#[derive(Debug, Clone, Serialize)]
pub struct SignedHead {
    pub hash: String,
    pub timestamp: String,
    pub line: usize,
}

/// Checks every statement in the signed-heads file against `key`. Returns
/// the heads that verified (oldest first) and a finding per bad line.
pub fn check(log: &Log, key: &VerifyingKey) -> Result<(Vec<SignedHead>, Vec<Finding>)> {
    let path = log.dir.join(FILE_NAME);
    let shown = log.display(FILE_NAME);
    let opened = log.open(FILE_NAME)?.map(|mut file| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map(|_| text)
    });
    let text = match opened {
        Some(Ok(t)) => t,
        None => {
            let finding = Finding {
                file: shown,
                line: None,
                kind: FindingKind::Truncated,
                message: "--public-key was given but there is no signed-heads file: it was removed, or `audit seal` never ran with LIFELINE_AUDIT_KEY".into(),
            };
            return Ok((Vec::new(), vec![finding]));
        }
        Some(Err(e)) => return Err(Error::io(&path, e)),
    };
    let wanted = hex::encode(key.as_bytes());
    let mut heads = Vec::new();
    let mut findings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let bad = |message: String| Finding {
            file: shown.clone(),
            line: Some(i + 1),
            kind: FindingKind::BadSignature,
            message,
        };
        let Ok(Value::Object(statement)) = serde_json::from_str::<Value>(line) else {
            findings.push(bad("not a JSON statement".into()));
            continue;
        };
        if statement.get("public_key").and_then(Value::as_str) != Some(wanted.as_str()) {
            findings.push(bad("signed with a different key than --public-key".into()));
            continue;
        }
        let signature = statement
            .get("signature")
            .and_then(Value::as_str)
            .and_then(|s| {
                let mut b = [0u8; 64];
                hex::decode_to_slice(s, &mut b).ok().map(|()| b)
            })
            .map(|b| ed25519_dalek::Signature::from_bytes(&b));
        let Some(signature) = signature else {
            findings.push(bad("`signature` is missing or not 128 hex digits".into()));
            continue;
        };
        if key
            .verify_strict(&signed_bytes(&statement), &signature)
            .is_err()
        {
            findings.push(bad(
                "the signature does not match the statement: it was altered".into(),
            ));
            continue;
        }
        let timestamp = statement
            .get("timestamp")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for h in statement
            .get("heads")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(hash) = h.as_str() {
                heads.push(SignedHead {
                    hash: hash.to_string(),
                    timestamp: timestamp.clone(),
                    line: i + 1,
                });
            }
        }
    }
    Ok((heads, findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_verifies_and_an_altered_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::at(dir.path());
        let key = SigningKey::from_bytes(&[7; 32]);
        let head = Appended {
            audit_id: "AUD-x".into(),
            hash: "ab".repeat(32),
            seq: 3,
            file: "f".into(),
        };
        sign_heads(&log, &key, &head, 3).unwrap();
        let (heads, findings) = check(&log, &key.verifying_key()).unwrap();
        assert_eq!(heads.len(), 1);
        assert!(findings.is_empty());
        let path = dir.path().join(FILE_NAME);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\"seq\":3", "\"seq\":2");
        std::fs::write(&path, text).unwrap();
        let (heads, findings) = check(&log, &key.verifying_key()).unwrap();
        assert!(heads.is_empty());
        assert_eq!(findings[0].kind, FindingKind::BadSignature);
    }
}

//! Signed checkpoints. With a key configured — `LIFELINE_CHECKPOINT_KEY`,
//! or else the audit key `LIFELINE_AUDIT_KEY` (see
//! [`crate::audit::signing`]) — every checkpoint's manifest is signed with
//! ed25519, and the seal travels in the commit message:
//!
//! ```text
//! signature: ed25519 <public key, 64 hex> <signature, 128 hex>
//! ```
//!
//! The signature covers the manifest's exact bytes, and the manifest holds
//! the SHA-256 of every file, so a seal that verifies vouches for the whole
//! checkpoint. A restore with a key configured refuses a checkpoint from
//! the remote that is unsigned or signed by another key, unless told
//! `--allow-unsigned`.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::ci::Env;
use crate::error::{Error, Result};

/// The environment variable holding a checkpoint-only private key.
pub(crate) const KEY_ENV: &str = "LIFELINE_CHECKPOINT_KEY";

/// The prefix of the seal line in a checkpoint's commit message.
pub(crate) const SEAL_PREFIX: &str = "signature: ed25519 ";

/// The checkpoint signing key: `LIFELINE_CHECKPOINT_KEY`, else the audit
/// key, else none.
pub(crate) fn key_from_env(env: &dyn Env) -> Result<Option<SigningKey>> {
    let Some(text) = env.var(KEY_ENV) else {
        return crate::audit::signing::key_from_env(env);
    };
    let mut seed = [0u8; 32];
    if text.trim().len() != 64 || hex::decode_to_slice(text.trim(), &mut seed).is_err() {
        return Err(Error::environment(
            format!("{KEY_ENV} is not an ed25519 private key (64 hex digits)"),
            Some("generate one with `openssl rand -hex 32` and store it as a secret".to_string()),
        ));
    }
    Ok(Some(SigningKey::from_bytes(&seed)))
}

/// The seal line for `manifest_json` (without a newline).
pub(crate) fn seal(key: &SigningKey, manifest_json: &[u8]) -> String {
    let signature = key.sign(manifest_json);
    format!(
        "{SEAL_PREFIX}{} {}",
        hex::encode(key.verifying_key().as_bytes()),
        hex::encode(signature.to_bytes())
    )
}

/// Checks a seal line against the manifest bytes; the signer's public key
/// (hex) when it verifies.
pub(crate) fn check(line: &str, manifest_json: &[u8]) -> std::result::Result<String, String> {
    let rest = line
        .strip_prefix(SEAL_PREFIX)
        .ok_or("the signature line is malformed")?;
    let (public, signature) = rest
        .trim()
        .split_once(' ')
        .ok_or("the signature line is malformed")?;
    let mut key = [0u8; 32];
    let mut sig = [0u8; 64];
    hex::decode_to_slice(public, &mut key).map_err(|_| "the signing key is malformed")?;
    hex::decode_to_slice(signature, &mut sig).map_err(|_| "the signature is malformed")?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| "the signing key is not a valid key")?;
    key.verify_strict(manifest_json, &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| "the signature does not match the manifest".to_string())?;
    Ok(public.to_string())
}

/// The public key of `key`, in hex.
pub(crate) fn public_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_verifies_only_for_the_bytes_it_signed() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let line = seal(&key, b"{\"a\":1}\n");
        assert_eq!(check(&line, b"{\"a\":1}\n").unwrap(), public_hex(&key));
        assert!(check(&line, b"{\"a\":2}\n").is_err());
        assert!(check("signature: ed25519 zz yy", b"").is_err());
        let other = SigningKey::from_bytes(&[8; 32]);
        let forged = line.replace(&public_hex(&key), &public_hex(&other));
        assert!(check(&forged, b"{\"a\":1}\n").is_err());
    }
}

//! C2SP signed notes (c2sp.org/signed-note), the checkpoint body they carry
//! (c2sp.org/tlog-checkpoint) and witness cosignatures
//! (c2sp.org/tlog-cosignature, `cosignature/v1`).
//!
//! A note is its text (UTF-8, ending in a newline), a blank line, then one
//! line per signature: `— <name> <base64(key id ‖ signature)>`. The key id
//! is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key); type
//! 0x01 is Ed25519 over the text, type 0x04 a cosignature: Ed25519 over
//! `cosignature/v1\ntime <T>\n` followed by the checkpoint text, with the
//! 8-byte big-endian time `T` between the key id and the signature.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// The signature type of a plain Ed25519 note signature.
pub const ED25519: u8 = 0x01;
/// The signature type of a `cosignature/v1` witness signature.
pub const COSIGNATURE_V1: u8 = 0x04;
/// Notes with more signatures than this are refused (as the reference
/// implementation does).
const MAX_SIGNATURES: usize = 100;
/// No note lifeline reads is longer than this.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The 4-byte key id of `name`'s key of signature type `alg`.
pub fn key_id(name: &str, alg: u8, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Whether `name` can be a key name: non-empty, no whitespace, no `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub key_id: [u8; 4],
    /// What follows the key id.
    pub bytes: Vec<u8>,
}

impl Signature {
    fn line(&self) -> String {
        let mut raw = self.key_id.to_vec();
        raw.extend_from_slice(&self.bytes);
        format!("— {} {}\n", self.name, B64.encode(raw))
    }
}

/// A signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    pub signatures: Vec<Signature>,
}

impl Note {
    /// Parses a note. Errors say what is wrong, for a reviewer to read.
    pub fn parse(note: &str) -> Result<Note, String> {
        if note.len() > MAX_NOTE_BYTES {
            return Err("longer than 1 MiB: not a checkpoint".into());
        }
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err("contains control characters other than newlines".into());
        }
        let split = note
            .rfind("\n\n")
            .ok_or("no blank line between the text and the signatures")?;
        let text = &note[..=split];
        let sigs = &note[split + 2..];
        if !sigs.ends_with('\n') {
            return Err("the last signature line does not end with a newline".into());
        }
        let mut signatures = Vec::new();
        for line in sigs.lines() {
            let rest = line
                .strip_prefix("— ")
                .ok_or_else(|| format!("{line:?} is not a signature line (`— name base64`)"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| format!("{line:?} has no signature after the key name"))?;
            if !valid_name(name) {
                return Err(format!("{name:?} is not a key name"));
            }
            let raw = B64
                .decode(b64)
                .map_err(|_| format!("the signature of {name} is not base64"))?;
            if raw.len() < 5 {
                return Err(format!("the signature of {name} is too short"));
            }
            signatures.push(Signature {
                name: name.to_string(),
                key_id: [raw[0], raw[1], raw[2], raw[3]],
                bytes: raw[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err("no signature lines".into());
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(format!("more than {MAX_SIGNATURES} signatures"));
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// The note as text: its text, a blank line, its signature lines.
    pub fn render(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
        }
        out
    }

    /// A note of `text` signed by `name` with Ed25519.
    pub fn sign(text: &str, name: &str, key: &SigningKey) -> Note {
        let signature = key.sign(text.as_bytes()).to_bytes().to_vec();
        Note {
            text: text.to_string(),
            signatures: vec![Signature {
                name: name.to_string(),
                key_id: key_id(name, ED25519, &key.verifying_key()),
                bytes: signature,
            }],
        }
    }

    /// Whether `name`'s Ed25519 key `public` signed the text.
    pub fn signed_by(&self, name: &str, public: &VerifyingKey) -> bool {
        let id = key_id(name, ED25519, public);
        self.signatures
            .iter()
            .filter(|s| s.name == name && s.key_id == id && s.bytes.len() == 64)
            .any(|s| {
                let sig = ed25519_dalek::Signature::from_slice(&s.bytes);
                sig.is_ok_and(|sig| public.verify_strict(self.text.as_bytes(), &sig).is_ok())
            })
    }

    /// Adds `name`'s `cosignature/v1` over the text at `time` (seconds
    /// since the epoch), replacing an earlier one by the same key.
    pub fn cosign(&mut self, name: &str, key: &SigningKey, time: u64) {
        let id = key_id(name, COSIGNATURE_V1, &key.verifying_key());
        let signature = key.sign(&cosigned_message(&self.text, time));
        let mut bytes = time.to_be_bytes().to_vec();
        bytes.extend_from_slice(&signature.to_bytes());
        self.signatures
            .retain(|s| !(s.name == name && s.key_id == id));
        self.signatures.push(Signature {
            name: name.to_string(),
            key_id: id,
            bytes,
        });
    }

    /// The time of `name`'s valid cosignature by `public`, if there is one.
    pub fn cosigned_by(&self, name: &str, public: &VerifyingKey) -> Option<u64> {
        let id = key_id(name, COSIGNATURE_V1, public);
        self.signatures
            .iter()
            .filter(|s| s.name == name && s.key_id == id && s.bytes.len() == 72)
            .find_map(|s| {
                let time = u64::from_be_bytes(s.bytes[..8].try_into().ok()?);
                let sig = ed25519_dalek::Signature::from_slice(&s.bytes[8..]).ok()?;
                public
                    .verify_strict(&cosigned_message(&self.text, time), &sig)
                    .ok()
                    .map(|()| time)
            })
    }
}

fn cosigned_message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

/// A checkpoint: the signed text of a log's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Lines after the root, each non-empty (lifeline writes `prev <size>
    /// <base64 root>` naming the checkpoint before it).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Parses a note's text as a checkpoint.
    pub fn parse(text: &str) -> Result<Checkpoint, String> {
        let mut lines = text.lines();
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or("no origin line")?;
        let size = lines
            .next()
            .and_then(|s| {
                (s == "0" || !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse::<u64>().ok())
                    .flatten()
            })
            .ok_or("the second line is not a tree size (a decimal number)")?;
        let root = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| <Hash>::try_from(r).ok())
            .ok_or("the third line is not a base64 SHA-256 root hash")?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err("an empty extension line".into());
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// The `(size, root)` the `prev` extension names, if any.
    pub fn prev(&self) -> Option<(u64, Hash)> {
        self.extensions.iter().find_map(|e| {
            let rest = e.strip_prefix("prev ")?;
            let (size, root) = rest.split_once(' ')?;
            let root = <Hash>::try_from(B64.decode(root).ok()?).ok()?;
            Some((size.parse().ok()?, root))
        })
    }

    /// The `prev` extension line for a checkpoint following `(size, root)`.
    pub fn prev_line(size: u64, root: &Hash) -> String {
        format!("prev {size} {}", B64.encode(root))
    }
}

/// Base64 (standard alphabet, padded), as notes use it.
pub fn base64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example key and note of golang.org/x/mod/sumdb/note (the
    /// reference implementation's documentation and note_test.go):
    /// `PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz`.
    fn peter() -> SigningKey {
        let raw = B64
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap();
        assert_eq!(raw[0], ED25519);
        SigningKey::from_bytes(&raw[1..].try_into().unwrap())
    }
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIGNED: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn signing_reproduces_the_go_reference_note_byte_for_byte() {
        let key = peter();
        assert_eq!(
            hex::encode(key_id("PeterNeumann", ED25519, &key.verifying_key())),
            "c74f20a3"
        );
        // The verifier key PeterNeumann+c74f20a3+ARpc2QcU... carries this key.
        assert_eq!(
            B64.encode([&[ED25519][..], key.verifying_key().as_bytes()].concat()),
            "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
        let note = Note::sign(TEXT, "PeterNeumann", &key);
        assert_eq!(note.render(), SIGNED);
        let parsed = Note::parse(SIGNED).unwrap();
        assert_eq!(parsed, note);
        assert!(parsed.signed_by("PeterNeumann", &key.verifying_key()));
        assert!(!parsed.signed_by("Peter", &key.verifying_key()));
        let other = SigningKey::from_bytes(&[9; 32]);
        assert!(!parsed.signed_by("PeterNeumann", &other.verifying_key()));
        let altered = Note::parse(&SIGNED.replace("problem is", "problem was")).unwrap();
        assert!(!altered.signed_by("PeterNeumann", &key.verifying_key()));
    }

    #[test]
    fn malformed_notes_are_refused_with_a_reason() {
        for bad in [
            "no blank line\n— a AAAAAAAA\n",
            "text\n\n",
            "text\n\n— a AAAAAAAA",
            "text\n\n- a AAAAAAAA\n",
            "text\n\n— a not*base64\n",
            "text\n\n— a+b AAAAAAAA\n",
            "te\u{7}xt\n\n— a AAAAAAAA\n",
        ] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checkpoints_round_trip_and_cosignatures_verify() {
        let c = Checkpoint {
            origin: "lifeline/acme/planning".into(),
            size: 42,
            root: [7; 32],
            extensions: vec![Checkpoint::prev_line(40, &[6; 32])],
        };
        let text = c.text();
        assert!(text.starts_with("lifeline/acme/planning\n42\nBwcH"));
        let parsed = Checkpoint::parse(&text).unwrap();
        assert_eq!(parsed, c);
        assert_eq!(parsed.prev(), Some((40, [6; 32])));
        for bad in [
            "o\n042\nBwcH\n",
            "o\n-1\nAAAA\n",
            "o\n1\nAAAA\n",
            "\n1\nAAAA\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
        let log = SigningKey::from_bytes(&[1; 32]);
        let witness = SigningKey::from_bytes(&[2; 32]);
        let mut note = Note::sign(&text, &c.origin, &log);
        note.cosign("witness.example", &witness, 1_700_000_000);
        let again = Note::parse(&note.render()).unwrap();
        assert!(again.signed_by(&c.origin, &log.verifying_key()));
        assert_eq!(
            again.cosigned_by("witness.example", &witness.verifying_key()),
            Some(1_700_000_000)
        );
        assert_eq!(
            again.cosigned_by("witness.example", &log.verifying_key()),
            None
        );
        assert!(!again.signed_by("witness.example", &witness.verifying_key()));
    }
}

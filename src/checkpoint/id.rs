//! Checkpoint IDs: `<type>-<UTC time>-<random>`, e.g.
//! `task-sync-20261123T235927Z-7f3a`.
//!
//! The time makes an ID readable and lets IDs of one type sort by time; the
//! four random hex digits separate checkpoints taken in the same second. The
//! random part alone cannot promise uniqueness (50 processes in one second
//! collide with a probability near 2%), so a store creates a checkpoint with
//! a "must not exist yet" write (`update-ref` with a zero old value, a
//! no-clobber link) and the creator retries with a fresh suffix when it
//! loses that race.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The `strftime` pattern of the time part.
const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// `20261123T235927Z`.
const TIME_LEN: usize = 16;
/// Hex digits of the random suffix.
const SUFFIX_LEN: usize = 4;

/// A checkpoint's ID, checked to be well-formed (so it is safe in a ref
/// name and a file name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CheckpointId(String);

impl CheckpointId {
    /// A new ID for a checkpoint of `kind` taken at `time`, with a random
    /// suffix.
    pub fn generate(kind: &str, time: jiff::Timestamp) -> CheckpointId {
        let random = uuid::Uuid::now_v7().into_bytes();
        let suffix = hex::encode(&random[14..16]);
        CheckpointId(format!("{kind}-{}-{suffix}", time.strftime(TIME_FORMAT)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The checkpoint type (`task-sync`).
    pub fn kind(&self) -> &str {
        &self.0[..self.0.len() - SUFFIX_LEN - TIME_LEN - 2]
    }

    /// The UTC second the ID was made in.
    pub fn time(&self) -> jiff::Timestamp {
        let start = self.0.len() - SUFFIX_LEN - TIME_LEN - 1;
        parse_time(&self.0[start..start + TIME_LEN]).expect("checked when the ID was parsed")
    }
}

fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    let civil = text.strip_suffix('Z')?;
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", civil).ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(dt).ok()
}

impl fmt::Display for CheckpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CheckpointId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a checkpoint ID (expected TYPE-YYYYMMDDTHHMMSSZ-XXXX)");
        let (rest, suffix) = s.rsplit_once('-').ok_or_else(bad)?;
        let (kind, time) = rest.rsplit_once('-').ok_or_else(bad)?;
        let hex_ok = suffix.len() == SUFFIX_LEN
            && suffix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok || time.len() != TIME_LEN || parse_time(time).is_none() {
            return Err(bad());
        }
        check_type(kind).map_err(|_| bad())?;
        Ok(CheckpointId(s.to_string()))
    }
}

impl TryFrom<String> for CheckpointId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<CheckpointId> for String {
    fn from(id: CheckpointId) -> String {
        id.0
    }
}

/// Checks that a checkpoint type can be part of an ID: lowercase ASCII
/// letters and digits in `-`-separated words, starting with a letter, at
/// most 40 characters.
pub fn check_type(kind: &str) -> Result<(), String> {
    let words_ok = kind.split('-').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if kind.len() > 40 || !kind.starts_with(|c: char| c.is_ascii_lowercase()) || !words_ok {
        return Err(format!(
            "checkpoint type `{kind}` must be lowercase words of letters and digits joined by `-` (at most 40 characters)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let time: jiff::Timestamp = "2026-11-23T23:59:27.5Z".parse().unwrap();
        let id = CheckpointId::generate("task-sync", time);
        assert!(
            id.as_str().starts_with("task-sync-20261123T235927Z-"),
            "{id}"
        );
        let back: CheckpointId = id.as_str().parse().unwrap();
        assert_eq!(back.kind(), "task-sync");
        assert_eq!(back.time(), "2026-11-23T23:59:27Z".parse().unwrap());
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "task-sync",
            "task-sync-20261123T235927Z",
            "task-sync-20261123T235927Z-7F3A",
            "task-sync-20261123T235927Z-7f3",
            "task-sync-20261399T235927Z-7f3a",
            "-20261123T235927Z-7f3a",
            "Task-20261123T235927Z-7f3a",
            "../x-20261123T235927Z-7f3a",
        ] {
            assert!(bad.parse::<CheckpointId>().is_err(), "{bad}");
        }
        assert!("a1-b-20261123T235927Z-00ff".parse::<CheckpointId>().is_ok());
    }

    #[test]
    fn types_are_checked() {
        assert!(check_type("task-sync").is_ok());
        assert!(check_type("pre-restore").is_ok());
        for bad in ["", "Task", "a--b", "-a", "a-", "a b", "a/b", "1a"] {
            assert!(check_type(bad).is_err(), "{bad}");
        }
    }
}

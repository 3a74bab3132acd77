//! Naming what went wrong in a guarded run — the plan's failure patterns,
//! so the configured severity policy applies — and how long to wait before
//! retrying a rate limit.
//!
//! Only structured signals count: the validation of the protected files
//! afterwards, and what the step itself reports in its status file
//! ([`StepStatus`]). Words in the step's output never do: that output
//! carries text other people wrote (an issue titled "#4290 conflict" must
//! not turn an emptied TASK.md into a P3 rate limit or a merge conflict).

use std::time::Duration;

use crate::config::{Config, Pattern, Severity};

/// The environment variable naming the status file a step may write.
pub(crate) const STATUS_ENV: &str = "LIFELINE_STEP_STATUS";

/// The most of a status file lifeline reads.
const STATUS_LIMIT: u64 = 64 * 1024;

/// What a step reported about its own failure in the file named by
/// `$LIFELINE_STEP_STATUS`: `key: value` (or `key=value`) lines, as HTTP
/// response headers are written, so `curl -D "$LIFELINE_STEP_STATUS"`
/// works as is. Keys, case-insensitive, the last one winning:
///
/// - an `HTTP/1.1 429 ...` status line, or `status: 429`;
/// - `retry-after: 30` (seconds or an HTTP date), `x-ratelimit-remaining`,
///   `x-ratelimit-reset` (epoch seconds);
/// - `pattern: merge-conflict` — the failure pattern outright, for what
///   HTTP does not say (a rejected `git push`).
///
/// Anything else is ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StepStatus {
    pub http_status: Option<u16>,
    pub pattern: Option<Pattern>,
    pub retry_after: Option<String>,
    pub ratelimit_remaining: Option<u64>,
    pub ratelimit_reset: Option<i64>,
}

impl StepStatus {
    /// Reads the status file; a missing or unreadable one, or anything
    /// but a regular file there (a FIFO is never waited on), reports
    /// nothing.
    pub(crate) fn read(path: &std::path::Path) -> StepStatus {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let mut bytes = Vec::new();
        let read = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(path)
            .and_then(|f| {
                if f.metadata()?.is_file() {
                    f.take(STATUS_LIMIT).read_to_end(&mut bytes)
                } else {
                    Err(std::io::ErrorKind::InvalidInput.into())
                }
            });
        match read {
            Ok(_) => StepStatus::parse(&String::from_utf8_lossy(&bytes)),
            Err(_) => StepStatus::default(),
        }
    }

    pub(crate) fn parse(text: &str) -> StepStatus {
        let mut status = StepStatus::default();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("HTTP/") {
                if let Some(code) = rest.split_whitespace().nth(1).and_then(|c| c.parse().ok()) {
                    status.http_status = Some(code);
                }
                continue;
            }
            let Some((key, value)) = line.split_once([':', '=']) else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "status" => {
                    if let Ok(code) = value.parse() {
                        status.http_status = Some(code);
                    }
                }
                "pattern" => {
                    if let Some(p) = Pattern::ALL.into_iter().find(|p| p.as_str() == value) {
                        status.pattern = Some(p);
                    }
                }
                "retry-after" => status.retry_after = Some(value.to_string()),
                "x-ratelimit-remaining" => status.ratelimit_remaining = value.parse().ok(),
                "x-ratelimit-reset" => status.ratelimit_reset = value.parse().ok(),
                _ => {}
            }
        }
        status
    }

    /// The pattern the report names: an explicit `pattern`, else the HTTP
    /// status — 429, or 403 with no requests left or a `retry-after`, is a
    /// rate limit (GitHub answers both ways); 401 and other 403s are
    /// credentials; 409 is a conflict.
    pub(crate) fn reported(&self) -> Option<Pattern> {
        if self.pattern.is_some() {
            return self.pattern;
        }
        match self.http_status? {
            429 => Some(Pattern::RateLimit),
            403 if self.ratelimit_remaining == Some(0) || self.retry_after.is_some() => {
                Some(Pattern::RateLimit)
            }
            401 | 403 => Some(Pattern::Auth),
            409 => Some(Pattern::MergeConflict),
            _ => None,
        }
    }

    /// The wait the report asks for: `retry-after` (seconds or an HTTP
    /// date), else an `x-ratelimit-reset` epoch second.
    pub(crate) fn retry_hint(&self, now: jiff::Timestamp) -> Option<Duration> {
        if let Some(value) = &self.retry_after {
            if let Ok(secs) = value.parse::<u64>() {
                return Some(Duration::from_secs(secs));
            }
            if let Some(at) = http_date(value) {
                return Some(until(now, at));
            }
        }
        let at = jiff::Timestamp::from_second(self.ratelimit_reset?).ok()?;
        Some(until(now, at))
    }
}

/// What a finished step left to go on.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence<'a> {
    /// What the step reported in its status file.
    pub reported: Option<Pattern>,
    /// The error rule codes of each protected file left invalid.
    pub invalid: Vec<Vec<&'a str>>,
}

/// A failure's pattern and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classified {
    pub pattern: Pattern,
    pub severity: Severity,
}

/// The pattern the validation findings name, like `health`'s file
/// detector: conflict markers, then damage to the file as a whole, then
/// the sprint configuration, else a parse error; `None` when every file
/// is valid.
pub(crate) fn from_findings(invalid: &[Vec<&str>]) -> Option<Pattern> {
    if invalid.is_empty() {
        return None;
    }
    let codes = || invalid.iter().flatten();
    Some(if codes().any(|c| *c == "FILE004") {
        Pattern::MergeConflict
    } else if codes().any(|c| {
        matches!(
            *c,
            "FILE001" | "FILE002" | "FILE003" | "FILE005" | "TASK006"
        )
    }) {
        Pattern::Corruption
    } else if codes().any(|c| c.starts_with("SPRINT")) {
        Pattern::SprintConfigCorruption
    } else {
        Pattern::ParseError
    })
}

/// The failure of a failed run. Files left invalid are classified by the
/// findings and never get a milder severity than the findings' pattern has
/// (the step's own report wins only when it is stricter); otherwise the
/// step's report; else `unknown`.
pub(crate) fn classify(evidence: &Evidence<'_>, config: &Config) -> Classified {
    let of = |pattern| Classified {
        pattern,
        severity: crate::health::detect::severity_of(config, pattern),
    };
    let reported = evidence.reported.map(of);
    match (from_findings(&evidence.invalid).map(of), reported) {
        (Some(found), Some(said)) if said.severity < found.severity => said,
        (Some(found), _) => found,
        (None, Some(said)) => said,
        (None, None) => of(Pattern::Unknown),
    }
}

fn http_date(text: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::rfc2822::parse(text.trim())
        .ok()
        .map(|z| z.timestamp())
}

fn until(now: jiff::Timestamp, at: jiff::Timestamp) -> Duration {
    let secs = at.as_second() - now.as_second();
    Duration::from_secs(secs.max(0) as u64)
}

/// The wait before retry `attempt` (1-based): `base` doubled each time,
/// capped at `max`, with "equal jitter" (half fixed, half random) so
/// parallel bots do not retry in step — never less than `hint`.
pub(crate) fn backoff(
    attempt: u32,
    base: Duration,
    max: Duration,
    hint: Option<Duration>,
) -> Duration {
    let exp = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(max);
    let half = exp / 2;
    let jitter = half.mul_f64(random_unit());
    let wait = half + jitter;
    match hint {
        Some(h) => wait.max(h.min(max)),
        None => wait,
    }
}

/// A number in [0, 1) from the standard library's per-process random
/// hash keys (no RNG dependency for one number per retry).
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classified(reported: Option<Pattern>, codes: Vec<&'static str>) -> Classified {
        let invalid = if codes.is_empty() {
            vec![]
        } else {
            vec![codes]
        };
        classify(&Evidence { reported, invalid }, &Config::default())
    }

    #[test]
    fn the_status_file_names_the_cause() {
        let cases = [
            (
                "HTTP/2 429\r\nretry-after: 30\r\n",
                Some(Pattern::RateLimit),
            ),
            (
                "HTTP/1.1 403 Forbidden\nx-ratelimit-remaining: 0\n",
                Some(Pattern::RateLimit),
            ),
            (
                "HTTP/1.1 403 Forbidden\nx-ratelimit-remaining: 12\n",
                Some(Pattern::Auth),
            ),
            ("status=401", Some(Pattern::Auth)),
            ("status: 409", Some(Pattern::MergeConflict)),
            (
                "status: 429\npattern: merge-conflict",
                Some(Pattern::MergeConflict),
            ),
            ("status: 500", None),
            ("pattern: no-such-pattern", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(StepStatus::parse(text).reported(), want, "{text:?}");
        }
    }

    #[test]
    fn a_missing_or_oversized_status_file_reports_what_it_can() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status");
        assert_eq!(StepStatus::read(&path), StepStatus::default());
        let mut text = "status: 429\n".to_string();
        text.push_str(&"x".repeat(STATUS_LIMIT as usize));
        text.push_str("\nstatus: 401\n");
        std::fs::write(&path, text).unwrap();
        assert_eq!(StepStatus::read(&path).reported(), Some(Pattern::RateLimit));
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert_eq!(StepStatus::read(&fifo), StepStatus::default());
    }

    #[test]
    fn words_are_not_signals() {
        // What the step printed is not evidence at all: only its report
        // and the files are.
        assert_eq!(classified(None, vec![]).pattern, Pattern::Unknown);
        let said = StepStatus::parse("#4290 rate limit conflict 429 HTTP 401").reported();
        assert_eq!(said, None);
    }

    #[test]
    fn invalid_files_are_never_classified_milder_than_their_findings() {
        // A step that says "rate limited" but emptied TASK.md is
        // corruption (P0), not a P3 rate limit.
        let c = classified(Some(Pattern::RateLimit), vec!["FILE002"]);
        assert_eq!((c.pattern, c.severity), (Pattern::Corruption, Severity::P0));
        let c = classified(None, vec!["FILE004"]);
        assert_eq!(c.pattern, Pattern::MergeConflict);
        let c = classified(None, vec!["SPRINT001"]);
        assert_eq!(c.pattern, Pattern::SprintConfigCorruption);
        let c = classified(Some(Pattern::Unknown), vec!["TASK011"]);
        assert_eq!((c.pattern, c.severity), (Pattern::ParseError, Severity::P2));
        // A stricter report wins: credentials (P1) over a parse error (P2).
        let c = classified(Some(Pattern::Auth), vec!["TASK011"]);
        assert_eq!((c.pattern, c.severity), (Pattern::Auth, Severity::P1));
        let c = classified(Some(Pattern::RateLimit), vec![]);
        assert_eq!((c.pattern, c.severity), (Pattern::RateLimit, Severity::P3));
    }

    #[test]
    fn retry_hints_are_read_from_the_status_file() {
        let now: jiff::Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let secs = |s: u64| Some(Duration::from_secs(s));
        let hint = |text: &str| StepStatus::parse(text).retry_hint(now);
        assert_eq!(hint("HTTP/2 429\nRetry-After: 30\n"), secs(30));
        let reset = now.as_second() + 90;
        assert_eq!(hint(&format!("x-ratelimit-reset: {reset}")), secs(90));
        assert_eq!(hint("Retry-After: Wed, 25 Nov 2026 12:01:00 GMT"), secs(60));
        assert_eq!(hint("x-ratelimit-reset: 1"), secs(0), "already past");
        assert_eq!(hint("status: 429"), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_honours_the_hint() {
        let base = Duration::from_secs(2);
        let max = Duration::from_secs(60);
        for attempt in 1..=8u32 {
            let exp = (base * 2u32.pow(attempt - 1)).min(max);
            let wait = backoff(attempt, base, max, None);
            assert!(
                wait >= exp / 2 && wait <= exp,
                "attempt {attempt}: {wait:?}"
            );
        }
        let hinted = backoff(1, base, max, Some(Duration::from_secs(30)));
        assert!(hinted >= Duration::from_secs(30));
        let capped = backoff(1, base, max, Some(Duration::from_secs(3600)));
        assert!(capped <= max);
    }
}

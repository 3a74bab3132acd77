//! Retention: months older than the configured period (7 years by default)
//! are compressed to `audit-YYYY-MM.jsonl.gz`, byte for byte the same
//! lines, so the chain stays verifiable. Nothing younger is ever touched,
//! nothing is deleted, and the newest month file is always left alone
//! (the next entry links to its last line).

use std::io::{Read, Write};

use serde::Serialize;

use super::store::{Log, MonthFile};
use crate::error::{Error, IoContext, Result};

/// What retention did (or, with `--dry-run`, would do) to one month.
#[derive(Debug, Clone, Serialize)]
pub struct MonthAction {
    pub file: String,
    pub month: String,
    /// `compress`, `compressed` (done), or `keep`.
    pub action: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetentionReport {
    /// Months ending on or before this date are past retention.
    pub cutoff: String,
    pub retention_years: u32,
    pub dry_run: bool,
    pub months: Vec<MonthAction>,
}

/// Reads a month file, decompressing a `.jsonl.gz` one.
pub fn read_month(f: &MonthFile) -> Result<String> {
    let bytes = f.read()?;
    let bytes = if f.compressed {
        gunzip(&bytes).at(&f.path)?
    } else {
        bytes
    };
    String::from_utf8(bytes).map_err(|_| {
        Error::environment(
            format!("{}: not UTF-8 text", f.path.display()),
            Some("run `lifeline audit verify` to find the damaged line".to_string()),
        )
    })
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// Applies retention as of `now`.
pub fn run(
    log: &Log,
    retention_years: u32,
    now: jiff::Timestamp,
    dry_run: bool,
) -> Result<RetentionReport> {
    let today = jiff::tz::TimeZone::UTC.to_datetime(now).date();
    let cutoff = today
        .checked_sub(jiff::Span::new().years(i64::from(retention_years)))
        .map_err(|e| Error::usage(format!("retention_years = {retention_years}: {e}"), None))?;
    let files = log.month_files()?;
    let newest = files.iter().map(|f| f.month.clone()).max();
    let mut months = Vec::new();
    for f in &files {
        let shown = log.display(&f.name);
        let ends = month_end(&f.month)?;
        let (action, reason) = if f.compressed {
            ("keep", "already compressed".to_string())
        } else if Some(&f.month) == newest.as_ref() {
            (
                "keep",
                "the newest month: the next entry links to it".to_string(),
            )
        } else if ends > cutoff {
            (
                "keep",
                format!("younger than {retention_years} years (ends {ends})"),
            )
        } else if files.iter().any(|o| o.month == f.month && o.compressed) {
            (
                "keep",
                "a compressed copy of this month already exists".to_string(),
            )
        } else if dry_run {
            ("compress", format!("ended {ends}, past retention"))
        } else {
            compress(log, f)?;
            ("compressed", format!("ended {ends}, past retention"))
        };
        months.push(MonthAction {
            file: shown,
            month: f.month.clone(),
            action,
            reason,
        });
    }
    Ok(RetentionReport {
        cutoff: cutoff.to_string(),
        retention_years,
        dry_run,
        months,
    })
}

/// The first day after the month `YYYY-MM`.
fn month_end(month: &str) -> Result<jiff::civil::Date> {
    let bad = || Error::usage(format!("bad month {month:?}"), None);
    let year: i16 = month[..4].parse().map_err(|_| bad())?;
    let m: i8 = month[5..].parse().map_err(|_| bad())?;
    let first = jiff::civil::Date::new(year, m, 1).map_err(|_| bad())?;
    first
        .checked_add(jiff::Span::new().months(1))
        .map_err(|_| bad())
}

/// Writes `audit-M.jsonl.gz` atomically, checks it decompresses to the
/// same bytes, and only then removes the original.
fn compress(log: &Log, f: &MonthFile) -> Result<()> {
    let original = f.read()?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&original).at(&f.path)?;
    let gz = encoder.finish().at(&f.path)?;
    let gz_name = format!("{}.gz", f.name);
    let target = log.dir.join(&gz_name);
    log.write(&gz_name, &gz)?;
    let back = log
        .open(&gz_name)?
        .ok_or_else(|| Error::io(&target, std::io::ErrorKind::NotFound.into()))
        .and_then(|mut file| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes).at(&target)?;
            gunzip(&bytes).at(&target)
        })?;
    if back != original {
        log.remove(&gz_name)?;
        return Err(Error::environment(
            format!(
                "{}: the compressed copy does not read back the same; left the original in place",
                target.display()
            ),
            None,
        ));
    }
    log.remove(&f.name)?;
    log.sync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_months_past_retention_are_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::at(dir.path());
        for m in ["2018-12", "2019-10", "2019-11", "2026-10"] {
            std::fs::write(
                dir.path().join(format!("audit-{m}.jsonl")),
                format!("{m}\n"),
            )
            .unwrap();
        }
        let now: jiff::Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let report = run(&log, 7, now, true).unwrap();
        let actions: Vec<_> = report
            .months
            .iter()
            .map(|m| (m.month.as_str(), m.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("2018-12", "compress"),
                ("2019-10", "compress"),
                ("2019-11", "keep"),
                ("2026-10", "keep")
            ]
        );
        assert!(
            dir.path().join("audit-2018-12.jsonl").exists(),
            "dry run wrote"
        );
        run(&log, 7, now, false).unwrap();
        let files = log.month_files().unwrap();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "audit-2018-12.jsonl.gz",
                "audit-2019-10.jsonl.gz",
                "audit-2019-11.jsonl",
                "audit-2026-10.jsonl"
            ]
        );
        assert_eq!(read_month(&files[1]).unwrap(), "2019-10\n");
    }
}

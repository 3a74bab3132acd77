//! Lookup by ID in a large log, whole process: `lifeline audit show ID`
//! against a generated log of 10 million entries over 84 monthly files
//! (seven years, ~5.6 GB), with a warm index. Target: median <= 50 ms.
//!
//! The log is generated once into `target/bench/audit-10m` (or
//! `$AUDIT_BENCH_DIR`) and reused; a first pass of `show` over one ID per
//! month builds the per-month indexes (the "warm" state). Then 200 random
//! IDs are looked up, one process each, and the median, p95 and max wall
//! times are printed. Every lookup must exit 0 and print the right entry.
//!
//! Run with `cargo bench --bench audit_lookup` (release build of the
//! binary). `ENTRIES` and `MONTHS` override the size.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lifeline::audit::{Event, Log, entry};

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let entries = env_or("ENTRIES", 10_000_000);
    let months = env_or("MONTHS", 84);
    let dir = std::env::var("AUDIT_BENCH_DIR").map_or_else(
        |_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("target/bench/audit-{entries}-{months}"))
        },
        PathBuf::from,
    );
    let ids = generate(&dir, entries, months);
    let bin = env!("CARGO_BIN_EXE_lifeline");
    let show = |id: &str| {
        let start = Instant::now();
        let out = Command::new(bin)
            .args(["--root"])
            .arg(&dir)
            .args(["audit", "show", id, "--format", "json"])
            .output()
            .expect("lifeline runs");
        let elapsed = start.elapsed();
        assert!(
            out.status.success(),
            "show {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["entry"]["audit_id"], id);
        assert_eq!(doc["hash_ok"], true);
        elapsed
    };
    // Warm-up: one lookup per month builds its index.
    let per_month = entries / months;
    let cold_start = Instant::now();
    for m in 0..months {
        show(&ids[m * per_month + per_month / 2]);
    }
    println!(
        "warm-up (index build, {months} months): {:.1?}",
        cold_start.elapsed()
    );
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut times: Vec<f64> = (0..200)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            show(&ids[(state % ids.len() as u64) as usize]).as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "audit show by ID, {entries} entries / {months} files, warm index, 200 processes: median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        times[times.len() / 2],
        times[times.len() * 95 / 100],
        times[times.len() - 1]
    );
}

/// Writes the log unless `dir/ids.txt` says it is complete; returns every
/// `audit_id` in log order.
fn generate(dir: &Path, entries: usize, months: usize) -> Vec<String> {
    let ids_path = dir.join("ids.txt");
    if let Ok(text) = std::fs::read_to_string(&ids_path) {
        let ids: Vec<String> = text.lines().map(str::to_string).collect();
        if ids.len() == entries / months * months {
            return ids;
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let log = Log::at(dir.join("docs/audit"));
    let ctx = entry::Context::new("SES-bench", "github:bench-bot");
    let per_month = entries / months;
    let first = jiff::civil::date(2026, 11, 1)
        .checked_sub(jiff::Span::new().months(months as i64 - 1))
        .unwrap();
    let mut ids = Vec::with_capacity(per_month * months);
    let started = Instant::now();
    for m in 0..months {
        let start = first
            .checked_add(jiff::Span::new().months(m as i64))
            .unwrap();
        let base: jiff::Timestamp = format!("{start}T00:00:00Z").parse().unwrap();
        // Spread the month's entries over its first 27 days.
        let step_ms = (27 * 86_400_000 / per_month as i64).max(1);
        let mut i = 0;
        while i < per_month {
            let n = (per_month - i).min(10_000);
            let batch = (i..i + n)
                .map(|k| {
                    let at = base + jiff::SignedDuration::from_millis(k as i64 * step_ms);
                    let event = Event::new(
                        if k % 3 == 0 {
                            "checkpoint"
                        } else {
                            "task-sync"
                        },
                        "sync_tasks",
                    )
                    .detail("trigger", "schedule")
                    .detail("changes_count", k % 17)
                    .file("planning/TASK.md");
                    let mut body = entry::body(dir, &ctx, &event, at).unwrap();
                    let id = entry::audit_id_at(at);
                    ids.push(id.clone());
                    body.insert("audit_id".into(), id.into());
                    body
                })
                .collect();
            log.append(batch, None).unwrap();
            i += n;
        }
        eprintln!(
            "generated {} / {months} months ({:.0?})",
            m + 1,
            started.elapsed()
        );
    }
    std::fs::write(&ids_path, ids.join("\n") + "\n").unwrap();
    ids
}

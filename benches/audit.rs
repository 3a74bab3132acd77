//! Audit trail throughput: library appends (fsync batched per call) and
//! `verify` over a generated log.
//!
//! - `append_batch`: `Log::append` of 1,000 freshly built entries per call
//!   (entry building, canonical JSON, SHA-256, one locked write and one
//!   fsync per call). The `item` column is entries/s. Target >= 50,000/s.
//! - `verify`: the whole-log check over a generated log of 200,000 entries
//!   in 12 month files (~120 MB). The `bytes` column is the throughput
//!   (decimal MB/s). Target >= 300 MB/s.
//!
//! Run with `cargo bench --bench audit`. The generated logs live in temp
//! dirs and are removed afterwards.

use std::sync::LazyLock;

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use lifeline::audit::{Event, Log, entry, verify};

fn main() {
    divan::main();
}

const BATCH: usize = 1_000;

fn event(i: usize) -> Event {
    Event::new("task-sync", "sync_tasks")
        .detail("trigger", "schedule")
        .detail("ref", "refs/heads/main")
        .detail("changes_count", i % 17)
        .metadata("workflow", "Task sync")
}

fn bodies(
    root: &std::path::Path,
    ctx: &entry::Context,
    n: usize,
) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let now = jiff::Timestamp::now();
    (0..n)
        .map(|i| entry::body(root, ctx, &event(i), now).expect("entry builds"))
        .collect()
}

#[divan::bench(sample_count = 30)]
fn append_batch(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::at(dir.path().join("audit"));
    let ctx = entry::Context::new("SES-bench", "github:bench-bot");
    bencher
        .counter(ItemsCount::new(BATCH))
        .bench_local(|| log.append(bodies(dir.path(), &ctx, BATCH), None).unwrap());
}

/// A log of 200,000 entries over 12 months, written once.
static VERIFY_LOG: LazyLock<(tempfile::TempDir, u64)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::at(dir.path());
    let ctx = entry::Context::new("SES-bench", "github:bench-bot");
    let per_month = 200_000 / 12;
    for m in 1..=12 {
        let base: jiff::Timestamp = format!("2025-{m:02}-01T00:00:00Z").parse().unwrap();
        for chunk in 0..(per_month / 1000) {
            let batch = (0..1000)
                .map(|i| {
                    let at = base + jiff::SignedDuration::from_secs((chunk * 1000 + i) as i64 * 60);
                    let mut b = entry::body(dir.path(), &ctx, &event(i), at).unwrap();
                    b.insert("audit_id".into(), entry::audit_id_at(at).into());
                    b
                })
                .collect();
            log.append(batch, None).unwrap();
        }
    }
    let report = verify::verify(&log, &verify::Options::default()).unwrap();
    assert!(
        report.is_valid() && report.heads.len() == 1,
        "the generated log verifies"
    );
    let bytes = report.files.iter().map(|f| f.bytes).sum();
    (dir, bytes)
});

#[divan::bench(sample_count = 10)]
fn verify_log(bencher: Bencher) {
    let (dir, bytes) = &*VERIFY_LOG;
    let log = Log::at(dir.path());
    bencher
        .counter(BytesCount::new(*bytes))
        .bench_local(|| black_box(verify::verify(&log, &verify::Options::default()).unwrap()));
}

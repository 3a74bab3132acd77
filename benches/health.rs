//! One `lifeline health` cycle against the fake GitHub on loopback: the
//! three watched workflows, the labels and the open alert issues
//! (`--alert github` with nothing to alert), cold (empty ETag cache) and
//! warm (everything answered 304).
//!
//! Targets (issue 6): at most 6 requests cold, and 0 requests that count
//! against the rate limit warm. Reading only the default branch's runs
//! (issue 17) costs one more cold request, the repository's default
//! branch: 7. The counts are printed before the timings;
//! run with `cargo bench --bench health`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use divan::Bencher;
use lifeline::commands::health::{self, HealthOptions};
use lifeline::github::fake::{FakeGitHub, Run};
use lifeline::workspace::Workspace;

struct Setup {
    _dir: tempfile::TempDir,
    ws: Workspace,
    fake: FakeGitHub,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample-repo");
    copy(&sample, dir.path());
    let ws = Workspace::discover(dir.path(), Some(dir.path()), None).unwrap();
    let baseline = lifeline::commands::checkpoint::CreateOptions {
        kind: "manual".into(),
        operation: "benchmark baseline".into(),
        push: None,
    };
    lifeline::commands::checkpoint::create(&ws, &[("USER", "bench")], &baseline).unwrap();
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| {
        s.runs = (0..30)
            .map(|i| Run {
                id: i,
                workflow: [
                    "task-sync.yml",
                    "task-archive.yml",
                    "auto-update-metadata.yml",
                ][i as usize % 3]
                    .into(),
                status: "completed".into(),
                conclusion: "success".into(),
                created_at: format!("2026-11-25T10:{:02}:00Z", i),
                head_sha: format!("{i:040x}"),
                failed_jobs: vec![],
                ..Run::default()
            })
            .collect();
        s.labels = (0..60)
            .map(|i| (format!("filler-{i}"), "ffffff".into(), String::new()))
            .chain(
                [
                    "priority/critical",
                    "priority/high",
                    "priority/medium",
                    "priority/low",
                    "type/feature",
                    "type/bug",
                    "status/not-started",
                    "status/in-progress",
                    "status/blocked",
                    "status/review",
                    "sprint/Sprint-07-2025",
                ]
                .iter()
                .map(|n| (n.to_string(), "ffffff".into(), String::new())),
            )
            .collect();
    });
    Setup {
        _dir: dir,
        ws,
        fake,
    }
}

fn copy(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let dest: PathBuf = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn cycle(s: &Setup) {
    let url = s.fake.url().to_string();
    let env = [
        ("GITHUB_API_URL", url.as_str()),
        ("GITHUB_TOKEN", "ghs_benchmarkbenchmarkbenchmark0000"),
        ("GITHUB_REPOSITORY", "acme/plan"),
    ];
    let options = HealthOptions {
        repo: None,
        alert: true,
        max_wait: Duration::from_secs(60),
        offline: false,
        ..HealthOptions::default()
    };
    let report = health::run(&s.ws, &env, &options).unwrap();
    assert!(report.alerts.is_empty(), "{:?}", report.findings);
}

fn clear_cache(s: &Setup) {
    let _ = std::fs::remove_dir_all(health::cache_dir(&s.ws));
}

fn main() {
    let s = setup();
    cycle(&s);
    let cold = s.fake.counted();
    let before = s.fake.log().len();
    cycle(&s);
    let warm_total = s.fake.log().len() - before;
    let warm_counted = s.fake.counted() - cold;
    println!(
        "health cycle requests: cold {cold} counted (target <= 7); warm {warm_total} sent, {warm_counted} counted (target 0)"
    );
    divan::main();
}

#[divan::bench(sample_count = 50)]
fn cold_cycle(bencher: Bencher) {
    let s = setup();
    bencher
        .with_inputs(|| clear_cache(&s))
        .bench_refs(|_| cycle(&s));
}

#[divan::bench(sample_count = 50)]
fn warm_cycle(bencher: Bencher) {
    let s = setup();
    cycle(&s);
    bencher.bench(|| cycle(&s));
}

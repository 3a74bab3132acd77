//! Throughput of the TASK.md validator on a large, valid sprint file.
//!
//! The input is a 100,000-task TASK.md generated in memory: the header,
//! changelog anchor and status summary of the sprint template, then the
//! 13-column task table with varied (deterministic pseudo-random) cells,
//! every one of them valid. It is checked once before timing: validating it
//! must give no finding at all, so the benchmark measures the all-clear
//! path every CI run takes.
//!
//! Run with `cargo bench --bench validate`; the `bytes` column is the
//! throughput (decimal MB/s).

use std::fmt::Write as _;
use std::sync::LazyLock;

use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use lifeline::config::Validator;
use lifeline::validate::taskmd;
use lifeline::validate::validate_bytes;

fn main() {
    divan::main();
}

/// Number of task rows in the generated file.
const TASKS: usize = 100_000;

/// The generated file, built (and checked) on first use.
static TASK_MD: LazyLock<String> = LazyLock::new(|| {
    let text = generate(TASKS);
    assert_valid(&text);
    text
});

/// `validate_bytes` with the `task-md` validator: the file-level checks
/// (UTF-8, NUL bytes, conflict markers), line indexing, parsing and every
/// task-md rule, including the dependency graph.
#[divan::bench(sample_count = 40)]
fn validate_task_md(bencher: Bencher) {
    let bytes = TASK_MD.as_bytes();
    bencher
        .counter(BytesCount::of_slice(bytes))
        .bench(|| validate_bytes("planning/TASK.md", black_box(bytes), Validator::TaskMd));
}

/// `taskmd::parse` alone: the header lines and the table, split into cells.
#[divan::bench(sample_count = 40)]
fn parse_task_md(bencher: Bencher) {
    let text = TASK_MD.as_str();
    bencher
        .counter(BytesCount::of_str(text))
        .bench(|| taskmd::parse(black_box(text)));
}

/// Fails loudly if the generated file is not a clean TASK.md, so a change
/// of the rules cannot silently turn this into a benchmark of the error
/// path.
fn assert_valid(text: &str) {
    let report = validate_bytes("planning/TASK.md", text.as_bytes(), Validator::TaskMd);
    if report.errors != 0 || report.warnings != 0 {
        for d in report.diagnostics.iter().take(20) {
            eprintln!("{}: {} {:?}", d.code, d.message, d.span);
        }
        panic!(
            "the generated TASK.md has {} errors and {} warnings",
            report.errors, report.warnings
        );
    }
    let doc = taskmd::parse(text);
    assert_eq!(doc.rows().count(), TASKS);
}

/// A small deterministic generator (SplitMix64), so every run measures the
/// same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const SPRINT: &str = "Sprint-07-2025";

const VERBS: &[&str] = &[
    "Add", "Fix", "Refactor", "Document", "Migrate", "Remove", "Harden", "Speed up", "Test",
    "Audit", "Rewrite", "Split", "Cache", "Retry", "Validate",
];
const NOUNS: &[&str] = &[
    "auth middleware",
    "token refresh",
    "task sync",
    "label audit",
    "sprint archive",
    "metrics dashboard",
    "recovery runbook",
    "webhook handler",
    "rate limiter",
    "changelog writer",
    "checkpoint store",
    "config loader",
    "CI pipeline",
    "release notes",
    "issue importer",
    "PR template",
    "Ünïcödé titles",
    "búsqueda de tareas",
    "日本語のラベル",
];
const DETAILS: &[&str] = &[
    "for API routes",
    "with exponential backoff",
    "against the repo settings",
    "on sprint rotation",
    "in the TASK.md header",
    "for on-call engineers",
    "behind a feature flag",
    "without the cron job",
    "across forks",
    "for large repositories",
    "when GitHub is down",
    "using the `gh` CLI",
];
const PRIORITIES: &[&str] = &["Critical", "High", "Medium", "Low"];
const POINTS: &[&str] = &["0", "1", "2", "3", "5", "8", "13", "21"];
const REVIEW_MARKS: &[&str] = &[
    "✔️",
    "✖️",
    "🔍",
    "⚠️",
    "🚀",
    "✔",
    "✔️ approved",
    "🔍 in review",
];
const OWNERS: &[&str] = &[
    "@devA",
    "@devB",
    "@devC",
    "@devD",
    "@alice",
    "@bob-smith",
    "@carol_1",
    "@dan",
    "-",
];
const NOTES: &[&str] = &[
    "-",
    "Merged after security review",
    "Awaiting second reviewer",
    "Rate limits hit twice last week",
    "Blocked on workflow permissions",
    "QA on staging copy",
    "Needs an owner",
    "Pairing with the platform team; see the design doc linked from the issue for the full rationale and the rollout plan",
    "Escaped pipe in a cell: a \\| b",
    "Follow-up of the incident review ✅",
];

/// Status names in the order of the summary line counts below.
const STATUSES: &[&str] = &[
    "Done",
    "In Progress",
    "Blocked",
    "Not Started",
    "Review",
    "Testing",
];

/// Builds a TASK.md with `tasks` valid rows.
fn generate(tasks: usize) -> String {
    let mut rng = Rng(0x5EED_1FE1_17E5);
    let mut rows = String::with_capacity(tasks * 220);
    let mut counts = [0usize; 6];
    for n in 1..=tasks {
        let id = format!("T-{n:06}");
        let title = format!("{} {}", rng.pick(VERBS), rng.pick(NOUNS));
        let description = if rng.chance(10) {
            "-".to_string()
        } else {
            format!(
                "{} {} {}",
                rng.pick(VERBS),
                rng.pick(NOUNS),
                rng.pick(DETAILS)
            )
        };
        let status_index = rng.below(STATUSES.len());
        counts[status_index] += 1;
        let pr = if rng.chance(40) {
            let number = 100 + rng.below(90_000);
            if rng.chance(10) {
                format!("[#{number}](../pulls/{number})")
            } else {
                format!("[#{number}](../pull/{number})")
            }
        } else {
            "-".to_string()
        };
        let eta = if rng.chance(5) {
            "-".to_string()
        } else {
            format!("2025-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))
        };
        // Only earlier tasks, so the dependency graph is acyclic.
        let mut depends = String::new();
        if n > 1 {
            for _ in 0..rng.below(4) {
                let dep = 1 + rng.below(n - 1);
                if !depends.is_empty() {
                    depends.push_str(", ");
                }
                write!(depends, "T-{dep:06}").unwrap();
            }
        }
        if depends.is_empty() {
            depends.push('-');
        }
        writeln!(
            rows,
            "| {id} | {title} | {description} | {} | {} | {} | {} | {} | {pr} | {eta} | {depends} | {SPRINT} | {} |",
            rng.pick(PRIORITIES),
            rng.pick(POINTS),
            STATUSES[status_index],
            rng.pick(REVIEW_MARKS),
            rng.pick(OWNERS),
            rng.pick(NOTES),
        )
        .unwrap();
    }

    let mut text = String::with_capacity(rows.len() + 2048);
    text.push_str(&format!(
        "# 📋 TASK MANAGEMENT – {SPRINT}

> **AI Assistants**: Read [PLANNING.md](PLANNING.md) first for project context.
> **File Version**: TASK-v1.1.0.md (immutable sprint snapshot for governance/compliance)

**Sprint ID**: {SPRINT}  
**Sprint**: 7 (2025-07-06 to 2025-07-20)  
**Last Updated**: 2025-07-14 09:30 UTC (*auto-updated on commit*)  
**Sprint Goal**: Ship authenticated task sync

## 📜 DOCUMENT CHANGELOG
<!-- changelog-insert-point -->
- **v1.1.0** (2025-07-12) – Added review status column and PR links
- **v1.0.0** (2025-07-06) – Initial sprint file creation

---

## 🧩 CURRENT SPRINT TASKS

**Sprint Status Summary**: ✅ Completed: {} | 🔄 In Progress: {} | 🚫 Blocked: {} | 📋 Not Started: {} | 🔍 Review: {} | 🧪 Testing: {} | **Total: {tasks}**

| ID | Title | Description | Priority | Points | Status | Reviewed | Owner | PR Link | ETA | Depends On | Sprint ID | Notes |
|----|-------|-------------|----------|--------|--------|----------|-------|---------|-----|------------|-----------|-------|
",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5],
    ));
    text.push_str(&rows);
    text.push_str(
        "
---

## 🔗 References
- Sprint archives: [docs/sprint-archives](../docs/sprint-archives/README.md)
",
    );
    text
}

#!/usr/bin/env python3
"""Writes a large, valid planning/TASK.md for the validation benchmarks.

    bench/gen_task_md.py OUT [TASKS]

The file is the sprint template (title, `**Sprint ID**:` line, changelog
with its `<!-- changelog-insert-point -->` anchor, a `**Sprint Status
Summary**:` line whose counts match the table) and the 13-column task table
with TASKS rows (default 100,000): IDs `T-001` ... `T-100000`, every cell
filled, short titles, descriptions and notes, the six statuses and the five
review marks at random, a dependency on an earlier task for 30% of the rows,
a `[#N](../pull/N)` link for half of them (`-` for the others), one sprint
ID. Every row is valid for lifeline and for the team's Python validator
alike. The generator is seeded, so every run writes the same bytes; with
the default 100,000 tasks the file is about 16.3 MB.
"""
import random
import sys

SPRINT = "Sprint-48-2026"
VERBS = ["Add", "Fix", "Refactor", "Document", "Migrate", "Remove", "Harden",
         "Tune", "Test", "Audit", "Rewrite", "Split", "Cache", "Retry"]
NOUNS = ["auth middleware", "token refresh", "task sync", "label audit",
         "sprint archive", "metrics", "recovery runbook", "webhooks",
         "rate limiter", "changelog", "checkpoints", "config loader",
         "CI pipeline", "release notes", "issue import", "PR template"]
DETAILS = ["for API routes", "with backoff", "on rotation", "in the header",
           "for on-call", "behind a flag", "without cron", "across forks",
           "for big repos", "when offline"]
NOTES = ["Merged", "In review", "Rate limits", "Needs access", "QA staging",
         "Pairing", "Incident", "From epic", "Low risk", "See issue"]
PRIORITIES = ["Critical", "High", "Medium", "Low"]
POINTS = ["1", "2", "3", "5", "8", "13", "21"]
STATUSES = ["Not Started", "In Progress", "Blocked", "Review", "Testing", "Done"]
# The five marks as the team writes them: three with U+FE0F, two without.
REVIEWED = ["\u2714\ufe0f", "\u2716\ufe0f", "\U0001F50D", "\u26a0\ufe0f", "\U0001F680"]
OWNERS = ["@devA", "@devB", "@devC", "@devD", "@alice", "@bob", "@carol"]


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[1]
    tasks = int(sys.argv[2]) if len(sys.argv) == 3 else 100_000
    rng = random.Random(0x5EED)
    rows = []
    counts = dict.fromkeys(STATUSES, 0)
    for n in range(1, tasks + 1):
        status = rng.choice(STATUSES)
        counts[status] += 1
        pr = f"[#{n}](../pull/{n})" if rng.random() < 0.5 else "-"
        dep = f"T-{rng.randrange(1, n):03d}" if n > 1 and rng.random() < 0.3 else "-"
        eta = f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        rows.append(
            f"| T-{n:03d} | {rng.choice(VERBS)} {rng.choice(NOUNS)} "
            f"| {rng.choice(NOUNS)} {rng.choice(DETAILS)} "
            f"| {rng.choice(PRIORITIES)} | {rng.choice(POINTS)} | {status} "
            f"| {rng.choice(REVIEWED)} | {rng.choice(OWNERS)} | {pr} | {eta} "
            f"| {dep} | {SPRINT} | {rng.choice(NOTES)} |\n"
        )
    summary = (
        f"\u2705 Completed: {counts['Done']} | \U0001F504 In Progress: {counts['In Progress']}"
        f" | \U0001F6AB Blocked: {counts['Blocked']} | \U0001F4CB Not Started: {counts['Not Started']}"
        f" | **Total: {tasks}**"
    )
    head = f"""# 📋 TASK MANAGEMENT – {SPRINT}

**Sprint ID**: {SPRINT}
**Sprint**: 48 (2026-11-23 to 2026-12-06)
**Last Updated**: 2026-11-30 09:30 UTC (*auto-updated on commit*)

## 📜 DOCUMENT CHANGELOG
<!-- changelog-insert-point -->
- **v1.0.0** (2026-11-23) – Initial sprint file creation

---

## 🧩 CURRENT SPRINT TASKS

**Sprint Status Summary**: {summary}

| ID | Title | Description | Priority | Points | Status | Reviewed | Owner | PR Link | ETA | Depends On | Sprint ID | Notes |
|----|-------|-------------|----------|--------|--------|----------|-------|---------|-----|------------|-----------|-------|
"""
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(head)
        f.writelines(rows)
        f.write("\n---\n\n## 🔗 References\n- Sprint archives: [docs/sprint-archives](../docs/sprint-archives/README.md)\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a synthetic, valid lifeline audit log for benchmarks.

    python3 bench/gen_audit_log.py DIR ENTRIES [MONTHS]

Entries look like the ones `lifeline audit log` writes in GitHub Actions
(about 600 bytes each), chained and hashed as docs/audit-format.md says,
spread over MONTHS month files (default 12). Prints the audit_id of the
middle entry.
"""
import hashlib
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
from verify_audit import jcs  # noqa: E402


def main(argv):
    out, n = argv[0], int(argv[1])
    months = int(argv[2]) if len(argv) > 2 else 12
    os.makedirs(out, exist_ok=True)
    prev, middle = None, None
    per = -(-n // months)
    for m in range(months):
        month = f"{2025 + (m // 12):04d}-{m % 12 + 1:02d}"
        lines = []
        for i in range(m * per, min(n, (m + 1) * per)):
            e = {
                "schema": 1,
                "audit_id": "AUD-" + str(uuid.UUID(int=(0x019AB3C4 << 96) | (0x7 << 76) | (0x8 << 60) | i)),
                "timestamp": f"{month}-15T12:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
                "component": "task-sync",
                "operation": "workflow_complete",
                "result": "success",
                "details": {"changes_count": i % 7, "trigger": "schedule", "ref": "refs/heads/main"},
                "environment": {"actor": "github:github-actions[bot]", "workflow": "task-sync",
                                "run_id": str(9_000_000 + i), "sha": hashlib.sha1(str(i).encode()).hexdigest(),
                                "repository": "acme/planning"},
                "files_affected": [{"path": "planning/TASK.md",
                                    "sha256": hashlib.sha256(str(i).encode()).hexdigest()}],
                "seq": i + 1,
                "prev": prev,
            }
            e["hash"] = hashlib.sha256(jcs(e).encode()).hexdigest()
            prev = e["hash"]
            lines.append(jcs(e))
            if i == n // 2:
                middle = e["audit_id"]
        with open(os.path.join(out, f"audit-{month}.jsonl"), "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
    print(middle)


if __name__ == "__main__":
    main(sys.argv[1:])

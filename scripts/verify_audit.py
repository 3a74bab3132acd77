#!/usr/bin/env python3
"""Standalone verifier for lifeline's audit trail (docs/audit-format.md).

Python 3.8+ standard library only. Usage:

    python3 scripts/verify_audit.py [AUDIT_DIR] [--expect-head HASH]...

Prints one line per finding as FILE:LINE: message and exits 1 if there is
any, 0 when the chain is intact (forks from merged clones are reported but
are not findings), 2 on usage errors. Damage of any kind (a bad .gz, a
directory named like a month file, bad UTF-8, JSON nested too deeply) is a
finding, never a traceback.
"""
import gzip
import hashlib
import json
import os
import re
import sys
import zlib

NAME = re.compile(r"^audit-(\d{4})-(0[1-9]|1[0-2])\.jsonl(\.gz)?$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_DEPTH = 64  # objects and arrays, the entry itself being level 1


def depth(v):
    if isinstance(v, dict):
        return 1 + max((depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((depth(x) for x in v), default=0)
    return 0


def torn(raw):
    """A line cut short by an interrupted write (not an edited one)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.end < len(raw) or e.reason != "unexpected end of data":
            return False
        text = raw[:e.start].decode("utf-8")
    if not text.startswith("{"):
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        rest = text[e.pos:]
        return (e.pos >= len(text) or e.msg.startswith("Unterminated string")
                or any(w.startswith(rest) for w in ("true", "false", "null")))
    except RecursionError:
        return False
    return False


def read(where, gz):
    """The bytes of a month file, or None and a finding."""
    try:
        if gz:
            with gzip.open(where, "rb") as f:
                return f.read(), None
        with open(where, "rb") as f:
            return f.read(), None
    except (OSError, EOFError, zlib.error) as e:
        return None, f"{where}: unreadable: {e}"


def es_number(x):
    """ECMAScript Number.prototype.toString for a double (RFC 8785 3.2.2.3)."""
    if x == 0:
        return "0"
    if x < 0:
        return "-" + es_number(-x)
    mantissa, _, exp = repr(x).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) - (len(whole + frac) - len((whole + frac).lstrip("0"))) + int(exp or 0)
    digits = digits.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = ("+" if n - 1 >= 0 else "-") + str(abs(n - 1))
    return digits + "e" + e if k == 1 else digits[0] + "." + digits[1:] + "e" + e


def jcs(v):
    """RFC 8785 JSON Canonicalization Scheme."""
    if v is None or isinstance(v, bool):
        return json.dumps(v)
    if isinstance(v, int):
        return str(v) if abs(v) <= 2**53 - 1 else es_number(float(v))
    if isinstance(v, float):
        return es_number(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(v[k]) for k in keys) + "}"


def entry_hash(entry):
    body = {k: x for k, x in entry.items() if k != "hash"}
    return hashlib.sha256(jcs(body).encode("utf-8")).hexdigest()


def main(argv):
    args, expect = [], []
    it = iter(argv)
    for a in it:
        if a == "--expect-head":
            expect.append(next(it, ""))
        elif a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            args.append(a)
    root = args[0] if args else "docs/audit"
    if not os.path.isdir(root):
        print(f"{root}: not a directory", file=sys.stderr)
        return 2
    files = sorted((m.group(1) + "-" + m.group(2), bool(m.group(3)), n)
                   for n in os.listdir(root) if (m := NAME.match(n)))
    findings, nodes, index, children = [], [], {}, {}
    months = {}
    for month, gz, name in files:
        where = os.path.join(root, name)
        if month in months:
            findings.append(f"{where}: holds the same month as {months[month]}")
        months[month] = where
        data, problem = read(where, gz)
        if problem:
            findings.append(problem)
            continue
        lines = data[:-1].split(b"\n") if data.endswith(b"\n") else data.split(b"\n")
        for no, raw in enumerate(lines if data else [], 1):
            at = f"{where}:{no}"
            if torn(raw):
                findings.append(f"{at}: torn: cut short by an interrupted write "
                                "(`lifeline audit repair --yes` ends it)")
                continue
            try:
                e = json.loads(raw.decode("utf-8"))
                assert depth(e) <= MAX_DEPTH
                assert isinstance(e, dict) and e.get("schema") == 1
                h, prev, seq = e["hash"], e["prev"], e["seq"]
                joins = e.get("joins", [])
                assert HEX64.match(h) and (prev is None or HEX64.match(prev))
                assert type(seq) is int and seq >= 1 and all(HEX64.match(j) for j in joins)
                assert e["audit_id"].startswith("AUD-") and e["result"] in ("success", "failure")
                stamp = e["timestamp"]
                assert isinstance(stamp, str)
            except Exception:
                findings.append(f"{at}: malformed entry")
                continue
            if stamp[:7] != month:
                findings.append(f"{at}: stamped {stamp}, not in {month} "
                                "(moved from another month's file, or the file was renamed)")
            if entry_hash(e) != h:
                findings.append(f"{at}: modified: content does not match its hash")
            if prev is None and seq != 1:
                findings.append(f"{at}: first entry of a chain must have seq 1")
            nodes.append((h, prev, joins, seq, at, e["audit_id"]))
            index.setdefault(h, len(nodes) - 1)
    for i, (h, prev, joins, seq, at, _) in enumerate(nodes):
        for target in ([prev] if prev else []) + joins:
            j = index.get(target)
            if j is None:
                findings.append(f"{at}: links to {target[:12]}, not in the log (deleted line or removed file)")
            elif j > i:
                findings.append(f"{at}: links to {target[:12]}, which comes later (reordered)")
            else:
                children.setdefault(j, []).append(i)
                if target == prev and seq != nodes[j][3] + 1:
                    findings.append(f"{at}: seq {seq} does not follow seq {nodes[j][3]}")
    seen = {}
    for h, _, _, _, at, aid in nodes:
        if aid in seen:
            findings.append(f"{at}: duplicate audit_id (also at {seen[aid]})")
        seen.setdefault(aid, at)
    for want in expect:
        i = index.get(want)
        if i is None:
            findings.append(f"{root}: expected head {want[:12]} is not in the log (truncated)")
            continue
        ancestors, stack = set(), [i]
        while stack:
            k = stack.pop()
            if k not in ancestors:
                ancestors.add(k)
                h, prev, joins = nodes[k][:3]
                stack += [index[t] for t in ([prev] if prev else []) + joins if t in index]
        findings += [f"{nodes[k][4]}: before expected head {want[:12]} but not in its chain"
                     for k in range(i) if k not in ancestors]
    heads = [n for k, n in enumerate(nodes) if k not in children]
    for f in findings:
        print(f)
    status = "invalid" if findings else ("forked" if len(heads) > 1 else "valid")
    print(f"{status}: {len(nodes)} entries in {len(files)} files")
    for h in heads:
        print(f"head: {h[0]} ({h[4]})")
    return 1 if findings else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # a last resort: damage nobody foresaw is a finding
        print(f"cannot verify: {type(e).__name__}: {e}")
        sys.exit(1)

#!/usr/bin/env python3
"""Standalone verifier for lifeline's audit trail (docs/audit-format.md).

Python 3.8+ standard library only (plus the `cryptography` package for
Ed25519 signatures in the transparency checks). Usage:

    python3 scripts/verify_audit.py [AUDIT_DIR] [--expect-head HASH]...
    python3 scripts/verify_audit.py --proof PROOF.json [--public-key KEY_FILE]
        [--old-checkpoint NOTE_FILE]
    python3 scripts/verify_audit.py [AUDIT_DIR] --checkpoint NOTE_FILE... --public-key KEY_FILE
    python3 scripts/verify_audit.py --note NOTE_FILE --public-key KEY_FILE
        [--cosigner NAME=HEX_PUBLIC_KEY]...

Prints one line per finding as FILE:LINE: message and exits 1 if there is
any, 0 when the chain is intact (forks from merged clones are reported but
are not findings), 2 on usage errors. Damage of any kind (a bad .gz, a
directory named like a month file, bad UTF-8, JSON nested too deeply) is a
finding, never a traceback. --proof checks an inclusion or
consistency proof (RFC 9162); --checkpoint checks that the log extends a
checkpoint kept earlier; --note checks a checkpoint's signatures and
cosignatures (C2SP signed-note, tlog-cosignature). Without `cryptography`
the signature part is skipped and says so (exit 0 only for the rest).
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


# ---- transparency: RFC 9162 Merkle proofs and C2SP signed notes ----------

def leaf_hash(entry_hash_bytes):
    return hashlib.sha256(b"\x00" + entry_hash_bytes).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves):
    """MTH over leaf hashes, by the compact frontier."""
    stack, size = [], 0
    for leaf in leaves:
        h, s = leaf, size
        while s & 1:
            h = node_hash(stack.pop(), h)
            s >>= 1
        stack.append(h)
        size += 1
    if not stack:
        return hashlib.sha256(b"").digest()
    r = stack[-1]
    for left in reversed(stack[:-1]):
        r = node_hash(left, r)
    return r


def verify_inclusion(index, size, leaf, path, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old, new, old_root, new_root, path):
    """RFC 9162 section 2.1.4.2 (equal sizes: equal roots, empty path)."""
    if old > new:
        return False
    if old == new:
        return not path and old_root == new_root
    if old == 0:
        return not path
    if not path:
        return False
    if old & (old - 1) == 0:
        path = [old_root] + list(path)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class Unusable(Exception):
    """Input that is not a proof, note or key: exit 2."""


def parse_note(text):
    """A C2SP signed note: (text, [(name, key id, signature bytes)])."""
    import base64
    if "\n\n" not in text or not text.endswith("\n"):
        raise Unusable("not a signed note (text, blank line, signature lines)")
    cut = text.rindex("\n\n")
    body, sigs = text[:cut + 1], []
    for line in text[cut + 2:].splitlines():
        if not line.startswith("\u2014 ") or line.count(" ") != 2:
            raise Unusable(f"{line!r} is not a signature line")
        _, name, b64 = line.split(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            raise Unusable(f"the signature of {name} is not base64")
        if len(raw) < 5:
            raise Unusable(f"the signature of {name} is too short")
        sigs.append((name, raw[:4], raw[4:]))
    return body, sigs


def parse_checkpoint(body):
    import base64
    lines = body.split("\n")[:-1]
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
        assert lines[0] and len(root) == 32 and lines[1] == str(size) and size >= 0
    except Exception:
        raise Unusable("not a checkpoint (origin, tree size, base64 root)")
    return lines[0], size, root


def key_id(name, alg, public):
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def ed25519_ok(public, message, signature):
    """True/False, or None when the `cryptography` package is missing."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def signed_by(body, sigs, name, public):
    kid = key_id(name, 0x01, public)
    results = [ed25519_ok(public, body.encode(), s) for n, k, s in sigs if n == name and k == kid and len(s) == 64]
    return True if True in results else (None if None in results else False)


def cosigned_by(body, sigs, name, public):
    kid = key_id(name, 0x04, public)
    results = []
    for n, k, s in sigs:
        if n == name and k == kid and len(s) == 72:
            t = int.from_bytes(s[:8], "big")
            msg = f"cosignature/v1\ntime {t}\n".encode() + body.encode()
            results.append(ed25519_ok(public, msg, s[8:]))
    return True if True in results else (None if None in results else False)


def read_key(path):
    try:
        text = open(path, encoding="utf-8").read().strip()
        assert HEX64.match(text)
        return bytes.fromhex(text)
    except Exception:
        raise Unusable(f"{path}: not an Ed25519 public key (64 hex digits)")


def log_entry_hashes(root):
    """The entry hashes of the log in order (leaves before hashing)."""
    files = sorted((m.group(1) + m.group(2), bool(m.group(3)), n)
                   for n in os.listdir(root) if (m := NAME.match(n)))
    out = []
    for _, gz, name in files:
        try:
            with (gzip.open if gz else open)(os.path.join(root, name), "rb") as f:
                data = f.read()
        except (OSError, EOFError, zlib.error):
            return None
        for raw in data.split(b"\n")[:-1]:
            try:
                e = json.loads(raw.decode("utf-8"))
                h = e["hash"]
                assert HEX64.match(h) and entry_hash(e) == h
            except Exception:
                return None
            out.append(bytes.fromhex(h))
    return out


def transparency(argv):
    opts = {"--proof": [], "--public-key": [], "--old-checkpoint": [], "--checkpoint": [],
            "--note": [], "--cosigner": []}
    rest = []
    it = iter(argv)
    for a in it:
        if a in opts:
            value = next(it, None)
            if value is None:
                raise Unusable(f"{a} needs a value")
            opts[a].append(value)
        elif a.startswith("-"):
            raise Unusable(f"unknown option {a}")
        else:
            rest.append(a)
    key = read_key(opts["--public-key"][0]) if opts["--public-key"] else None
    problems, unchecked = [], []

    def check_signed(text, what):
        body, sigs = parse_note(text)
        origin, size, root = parse_checkpoint(body)
        if key is not None:
            ok = signed_by(body, sigs, origin, key)
            if ok is None:
                unchecked.append(what)
            elif not ok:
                problems.append(f"{what}: not signed by the public key for {origin}")
        return body, sigs, origin, size, root

    def read(path):
        try:
            return open(path, encoding="utf-8").read()
        except (OSError, UnicodeDecodeError) as e:
            raise Unusable(f"{path}: {e}")

    for path in opts["--note"]:
        body, sigs, origin, _, _ = check_signed(read(path), path)
        for spec in opts["--cosigner"]:
            name, _, hexkey = spec.partition("=")
            if not HEX64.match(hexkey):
                raise Unusable(f"--cosigner {spec}: want NAME=64 hex digits")
            ok = cosigned_by(body, sigs, name, bytes.fromhex(hexkey))
            if ok is None:
                unchecked.append(f"{path} cosignature of {name}")
            elif not ok:
                problems.append(f"{path}: no valid cosignature by {name}")
    for path in opts["--proof"]:
        try:
            proof = json.loads(read(path))
            assert isinstance(proof, dict)
        except (ValueError, AssertionError):
            raise Unusable(f"{path}: not a JSON proof")

        def hashes(k):
            v = proof.get(k)
            if not isinstance(v, list) or not all(isinstance(h, str) and HEX64.match(h) for h in v):
                raise Unusable(f"{path}: `{k}` is not a list of 64-hex-digit hashes")
            return [bytes.fromhex(h) for h in v]

        def number(k):
            v = proof.get(k)
            if type(v) is not int or v < 0:
                raise Unusable(f"{path}: `{k}` is not a non-negative integer")
            return v

        if not isinstance(proof.get("checkpoint"), str):
            raise Unusable(f"{path}: `checkpoint` is missing")
        _, _, origin, size, root = check_signed(proof["checkpoint"], f"{path} checkpoint")
        if "inclusion_path" in proof:
            entry = proof.get("entry_hash")
            if not isinstance(entry, str) or not HEX64.match(entry):
                raise Unusable(f"{path}: `entry_hash` is not 64 hex digits")
            index, tree_size, p = number("leaf_index"), number("tree_size"), hashes("inclusion_path")
            if tree_size != size or not verify_inclusion(index, size, leaf_hash(bytes.fromhex(entry)), p, root):
                problems.append(f"{path}: the inclusion proof does not lead to the checkpoint's root")
        elif "consistency_path" in proof:
            old, new, p = number("old_size"), number("new_size"), hashes("consistency_path")
            old_text = read(opts["--old-checkpoint"][0]) if opts["--old-checkpoint"] else proof.get("old_checkpoint")
            if old == 0:
                old_root = hashlib.sha256(b"").digest()
                old_size = 0
            elif not isinstance(old_text, str):
                raise Unusable(f"{path}: a consistency proof needs the older checkpoint (--old-checkpoint)")
            else:
                _, _, old_origin, old_size, old_root = check_signed(old_text, f"{path} older checkpoint")
                if old_origin != origin:
                    problems.append(f"{path}: the checkpoints are of two logs")
            if old_size != old or new != size or not verify_consistency(old, new, old_root, root, p):
                problems.append(f"{path}: the consistency proof does not join the two checkpoints")
        else:
            raise Unusable(f"{path}: neither `inclusion_path` nor `consistency_path`")
    if opts["--checkpoint"]:
        if key is None:
            raise Unusable("--checkpoint needs --public-key")
        root_dir = rest[0] if rest else "docs/audit"
        if not os.path.isdir(root_dir):
            raise Unusable(f"{root_dir}: not a directory")
        entries = log_entry_hashes(root_dir)
        if entries is None:
            problems.append(f"{root_dir}: a damaged line; run the chain check first")
            entries = []
        leaves = [leaf_hash(h) for h in entries]
        for path in opts["--checkpoint"]:
            _, _, _, size, root = check_signed(read(path), path)
            if size > len(leaves):
                problems.append(f"{path}: covers {size} entries, the log has {len(leaves)}: entries were removed")
            elif merkle_root(leaves[:size]) != root:
                problems.append(f"{path}: the first {size} entries no longer hash to its root: history was rewritten")
    for p in problems:
        print(p)
    for u in unchecked:
        print(f"note: {u}: signature not checked (install the `cryptography` package)")
    print("invalid" if problems else "valid")
    return 1 if problems else 0


def main(argv):
    if any(a in ("--proof", "--checkpoint", "--note") for a in argv):
        try:
            return transparency(argv)
        except Unusable as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
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

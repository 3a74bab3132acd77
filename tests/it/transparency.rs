//! Audit transparency: signed checkpoints (C2SP signed notes), inclusion
//! and consistency proofs (RFC 9162), a reviewer's kept checkpoint, the
//! chain of recorded checkpoints, witnesses, and forks, seals, merges and
//! rebases. The standalone Python verifier checks the same proofs.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{Repo, stderr, stdout};
use serde_json::Value;

const KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const WITNESS: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const ORIGIN: &str = "lifeline/acme/planning";

fn log(repo: &Repo, operation: &str) -> String {
    let out = repo
        .lifeline()
        .args([
            "audit",
            "log",
            "--component",
            "task-sync",
            "--operation",
            operation,
        ])
        .assert()
        .code(0);
    stdout(&out).trim().to_string()
}

fn repo_with(n: usize) -> Repo {
    let repo = Repo::sample();
    for i in 0..n {
        log(&repo, &format!("op{i}"));
    }
    let out = repo
        .lifeline()
        .args(["audit", "public-key"])
        .env("LIFELINE_AUDIT_KEY", KEY)
        .assert()
        .code(0);
    repo.write("audit.pub", stdout(&out));
    repo
}

fn checkpoint(repo: &Repo) -> (i32, String, String) {
    let out = repo
        .lifeline()
        .args(["audit", "checkpoint"])
        .env("LIFELINE_AUDIT_KEY", KEY)
        .env("GITHUB_REPOSITORY", "acme/planning")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn prove(repo: &Repo, args: &[&str]) -> (i32, Value) {
    let out = repo
        .lifeline()
        .args(["audit", "prove"])
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, v)
}

fn verify_proof(repo: &Repo, proof: &Value, extra: &[&str]) -> (i32, String) {
    repo.write("proof.json", proof.to_string());
    let out = repo
        .lifeline()
        .args([
            "audit",
            "verify-proof",
            "proof.json",
            "--public-key",
            "audit.pub",
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn python(repo: &Repo, args: &[&str]) -> (i32, String) {
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify_audit.py"))
        .args(args)
        .current_dir(repo.path())
        .output()
        .expect("python3 runs");
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn month_file(repo: &Repo) -> String {
    let mut names: Vec<String> = std::fs::read_dir(repo.join("docs/audit"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("audit-") && n.ends_with(".jsonl"))
        .collect();
    names.sort();
    format!("docs/audit/{}", names.last().unwrap())
}

#[test]
fn a_checkpoint_is_a_signed_note_printed_exactly_and_recorded() {
    let repo = repo_with(3);
    let (code, note, err) = checkpoint(&repo);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = note.lines().collect();
    assert_eq!(lines[0], ORIGIN);
    assert_eq!(lines[1], "3");
    assert_eq!(lines[2].len(), 44, "a base64 SHA-256 root");
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with(&format!("— {ORIGIN} ")), "{note}");
    assert!(!note.contains(KEY), "the private key leaked");
    let records = repo.read("docs/audit/checkpoints.jsonl");
    let record: Value = serde_json::from_str(records.lines().last().unwrap()).unwrap();
    assert_eq!(record["note"], note.as_str());
    // Nothing new: the same checkpoint, not another record.
    let (code, again, _) = checkpoint(&repo);
    assert_eq!((code, again.as_str()), (0, note.as_str()));
    assert_eq!(repo.read("docs/audit/checkpoints.jsonl").lines().count(), 1);
    // No key: a clear environment error.
    let out = repo
        .lifeline()
        .args(["audit", "checkpoint", "--origin", ORIGIN])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("LIFELINE_AUDIT_KEY is not set"));
}

#[test]
fn an_inclusion_proof_verifies_offline_and_a_tampered_one_does_not() {
    let repo = repo_with(5);
    let id = log(&repo, "the-one");
    log(&repo, "after");
    assert_eq!(checkpoint(&repo).0, 0);
    let (code, proof) = prove(&repo, &[&id]);
    assert_eq!(code, 0);
    assert_eq!(proof["audit_id"], id.as_str());
    assert_eq!(proof["leaf_index"], 5);
    assert_eq!(proof["tree_size"], 7);
    assert_eq!(proof["inclusion_path"].as_array().unwrap().len(), 3);
    assert!(proof["checkpoint"].as_str().unwrap().starts_with(ORIGIN));
    let (code, text) = verify_proof(&repo, &proof, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("valid: "), "{text}");

    let mut bad = proof.clone();
    bad["leaf_index"] = 4.into();
    assert_eq!(verify_proof(&repo, &bad, &[]).0, 1);
    let mut bad = proof.clone();
    let first = bad["inclusion_path"][0].as_str().unwrap().to_string();
    let flipped = if first.starts_with('0') { "1" } else { "0" }.to_string() + &first[1..];
    bad["inclusion_path"][0] = flipped.into();
    assert_eq!(verify_proof(&repo, &bad, &[]).0, 1);
    // Another key's checkpoint is refused under this key.
    repo.write("other.pub", "33".repeat(32));
    repo.write("proof.json", proof.to_string());
    let out = repo
        .lifeline()
        .args([
            "audit",
            "verify-proof",
            "proof.json",
            "--public-key",
            "other.pub",
        ])
        .assert()
        .code(1);
    assert!(stdout(&out).contains("invalid: the checkpoint is not signed"));
    // Unusable input.
    repo.write("proof.json", "{\"inclusion_path\": 3");
    let out = repo
        .lifeline()
        .args(["audit", "verify-proof", "proof.json"])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("proof.json: not JSON"));
    let mut missing = proof.clone();
    missing.as_object_mut().unwrap().remove("entry_hash");
    assert_eq!(verify_proof(&repo, &missing, &[]).0, 2);

    // An entry newer than the checkpoint, or none at all.
    let newer = log(&repo, "newer");
    assert_eq!(prove(&repo, &[&newer]).0, 2);
    assert_eq!(
        prove(&repo, &["AUD-019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6071"]).0,
        1
    );

    // The Python verifier agrees.
    repo.write("proof.json", proof.to_string());
    let (code, text) = python(
        &repo,
        &["--proof", "proof.json", "--public-key", "audit.pub"],
    );
    assert_eq!(code, 0, "{text}");
    repo.write("proof.json", bad.to_string());
    let (code, text) = python(
        &repo,
        &["--proof", "proof.json", "--public-key", "audit.pub"],
    );
    assert_eq!(code, 1, "{text}");
}

#[test]
fn a_consistency_proof_joins_two_checkpoints_and_catches_a_forged_old_one() {
    let repo = repo_with(3);
    let (_, old_note, _) = checkpoint(&repo);
    repo.write("kept.txt", &old_note);
    for i in 0..4 {
        log(&repo, &format!("more{i}"));
    }
    let (code, new_note, _) = checkpoint(&repo);
    assert_eq!(code, 0);
    assert!(
        new_note.contains("\nprev 3 "),
        "checkpoints name the one before: {new_note}"
    );
    let (code, proof) = prove(&repo, &["--consistency", "3"]);
    assert_eq!(code, 0);
    assert_eq!(proof["old_size"], 3);
    assert_eq!(proof["new_size"], 7);
    assert_eq!(proof["old_checkpoint"], old_note.as_str());
    let (code, text) = verify_proof(&repo, &proof, &["--old-checkpoint", "kept.txt"]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = python(
        &repo,
        &["--proof", "proof.json", "--public-key", "audit.pub"],
    );
    assert_eq!(code, 0, "{text}");

    // A checkpoint of 3 entries of another history, signed with the same
    // key, is not a prefix.
    let other = repo_with(3);
    let (_, forged, _) = checkpoint(&other);
    repo.write("forged.txt", &forged);
    let (code, text) = verify_proof(&repo, &proof, &["--old-checkpoint", "forged.txt"]);
    assert_eq!(code, 1, "{text}");
    // --to an unrecorded size is a usage error.
    assert_eq!(prove(&repo, &["--consistency", "3", "--to", "5"]).0, 2);
}

#[test]
fn a_kept_checkpoint_catches_a_rewrite_with_recomputed_hashes() {
    let repo = repo_with(4);
    let (_, note, _) = checkpoint(&repo);
    repo.write("kept.txt", &note);
    repo.lifeline()
        .args([
            "audit",
            "verify",
            "--checkpoint",
            "kept.txt",
            "--public-key",
            "audit.pub",
        ])
        .assert()
        .code(0);
    log(&repo, "later");
    repo.lifeline()
        .args([
            "audit",
            "verify",
            "--checkpoint",
            "kept.txt",
            "--public-key",
            "audit.pub",
        ])
        .assert()
        .code(0);

    // Rewrite history: every hash recomputed, lifeline's records deleted.
    let file = month_file(&repo);
    std::fs::remove_file(repo.join(&file)).unwrap();
    std::fs::remove_file(repo.join("docs/audit/checkpoints.jsonl")).unwrap();
    for i in 0..6 {
        log(&repo, &format!("forged{i}"));
    }
    let out = repo.lifeline().args(["audit", "verify"]).assert().code(0);
    assert!(
        stdout(&out).contains("audit trail valid"),
        "the rewrite passes the chain check"
    );
    let out = repo
        .lifeline()
        .args([
            "audit",
            "verify",
            "--checkpoint",
            "kept.txt",
            "--public-key",
            "audit.pub",
        ])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("error[inconsistent]: kept.txt"),
        "{}",
        stdout(&out)
    );
    let (code, text) = python(
        &repo,
        &["--checkpoint", "kept.txt", "--public-key", "audit.pub"],
    );
    assert_eq!(code, 1, "{text}");

    // A note not signed by the key is a finding, not a pass.
    repo.write("kept.txt", note.replace(ORIGIN, "lifeline/acme/other"));
    let out = repo
        .lifeline()
        .args([
            "audit",
            "verify",
            "--checkpoint",
            "kept.txt",
            "--public-key",
            "audit.pub",
        ])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("error[bad-signature]: kept.txt"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn recorded_checkpoints_chain_so_removing_some_is_a_finding() {
    let repo = repo_with(2);
    for i in 0..3 {
        log(&repo, &format!("step{i}"));
        assert_eq!(checkpoint(&repo).0, 0);
    }
    repo.lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(0);
    let records = repo.read("docs/audit/checkpoints.jsonl");
    let lines: Vec<&str> = records.lines().collect();
    assert_eq!(lines.len(), 3);
    // Drop the middle one.
    repo.write(
        "docs/audit/checkpoints.jsonl",
        format!("{}\n{}\n", lines[0], lines[2]),
    );
    let out = repo
        .lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(1);
    assert!(
        stdout(&out)
            .contains("docs/audit/checkpoints.jsonl:2: it names a previous checkpoint of size 4"),
        "{}",
        stdout(&out)
    );
    // Drop the newest checkpoint and the entries after the one before: the
    // chain that is left is whole, so only a checkpoint kept elsewhere (a
    // reviewer's copy or a witness's state) can tell.
    let newest: Value = serde_json::from_str(lines[2]).unwrap();
    repo.write("kept.txt", newest["note"].as_str().unwrap());
    repo.write(
        "docs/audit/checkpoints.jsonl",
        format!("{}\n{}\n", lines[0], lines[1]),
    );
    let file = month_file(&repo);
    let kept: Vec<String> = repo
        .read(&file)
        .lines()
        .take(4)
        .map(str::to_string)
        .collect();
    repo.write(&file, kept.join("\n") + "\n");
    repo.lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(0);
    let out = repo
        .lifeline()
        .args([
            "audit",
            "verify",
            "--public-key",
            "audit.pub",
            "--checkpoint",
            "kept.txt",
        ])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("entries were removed"),
        "{}",
        stdout(&out)
    );
    // A record edited after signing.
    let edited = lines[0].replace("\"size\":3", "\"size\":2");
    let tampered: Value = serde_json::from_str(lines[1]).unwrap();
    let note = tampered["note"]
        .as_str()
        .unwrap()
        .replacen("\n4\n", "\n5\n", 1);
    let mut t = tampered.clone();
    t["note"] = note.into();
    repo.write("docs/audit/checkpoints.jsonl", format!("{edited}\n{t}\n"));
    let out = repo
        .lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("error[bad-signature]: docs/audit/checkpoints.jsonl:2"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn checkpoints_refuse_a_rewritten_or_unsealed_log_and_seal_makes_it_linear() {
    let origin = repo_with(2);
    origin.write(".gitattributes", "docs/audit/*.jsonl merge=union\n");
    assert_eq!(checkpoint(&origin).0, 0);
    origin.git(&["add", "-A"]);
    origin.git(&["commit", "-q", "-m", "audit so far"]);
    let clone = Repo::bare_dir();
    clone.git(&["clone", "-q", origin.path().to_str().unwrap(), "."]);
    log(&origin, "on-main-1");
    log(&clone, "on-clone-1");
    origin.git(&["commit", "-q", "-am", "main appends"]);
    clone.git(&["commit", "-q", "-am", "clone appends"]);
    origin.git(&[
        "pull",
        "-q",
        "--no-rebase",
        "--no-edit",
        clone.path().to_str().unwrap(),
        "main",
    ]);
    // A merge leaves two branches: no checkpoint until a seal joins them.
    let (code, _, err) = checkpoint(&origin);
    assert_eq!(code, 1);
    assert!(err.contains("run `lifeline audit seal` first"), "{err}");
    origin.lifeline().args(["audit", "seal"]).assert().code(0);
    let (code, note, err) = checkpoint(&origin);
    assert_eq!(code, 0, "{err}");
    assert!(note.contains("\n5\n"), "{note}");
    origin
        .lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(0);

    // A rebase that reorders checkpointed entries: verify names the
    // checkpoints it breaks.
    let file = month_file(&origin);
    let original = origin.read(&file);
    let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
    lines.swap(0, 1);
    origin.write(&file, lines.join("\n") + "\n");
    let out = origin
        .lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("error[inconsistent]: docs/audit/checkpoints.jsonl:1: the first 2 entries no longer hash"),
        "{}",
        stdout(&out)
    );
    // A rebase that puts another branch's entry before them: no new
    // checkpoint builds on it.
    let other = repo_with(1);
    let foreign = other.read(&month_file(&other));
    origin.write(&file, foreign + &original);
    let (code, _, err) = checkpoint(&origin);
    assert_eq!(code, 1);
    assert!(
        err.contains("not an extension of the newest checkpoint"),
        "{err}"
    );
}

#[test]
fn a_witness_cosigns_only_what_extends_what_it_cosigned_before() {
    let repo = repo_with(3);
    assert_eq!(checkpoint(&repo).0, 0);
    let cosign = |repo: &Repo| {
        repo.lifeline()
            .args([
                "audit",
                "cosign",
                "--name",
                "compliance.example/witness",
                "--public-key",
                "audit.pub",
                "--state",
                "witness-state.txt",
            ])
            .env("LIFELINE_COSIGN_KEY", WITNESS)
            .output()
            .unwrap()
    };
    let out = cosign(&repo);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let note = String::from_utf8(out.stdout).unwrap();
    assert_eq!(note.matches("\n— ").count(), 2, "{note}");
    assert!(note.contains("— compliance.example/witness "), "{note}");
    assert_eq!(repo.read("witness-state.txt"), note);
    log(&repo, "more");
    assert_eq!(checkpoint(&repo).0, 0);
    assert_eq!(cosign(&repo).status.code(), Some(0));
    repo.lifeline()
        .args(["audit", "verify", "--public-key", "audit.pub"])
        .assert()
        .code(0);

    // A split view: history rewritten and signed again. The witness refuses.
    let file = month_file(&repo);
    std::fs::remove_file(repo.join(&file)).unwrap();
    std::fs::remove_file(repo.join("docs/audit/checkpoints.jsonl")).unwrap();
    for i in 0..6 {
        log(&repo, &format!("forged{i}"));
    }
    assert_eq!(checkpoint(&repo).0, 0);
    let out = cosign(&repo);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("history was rewritten"));
    // The Python verifier checks the cosignature too.
    let (code, text) = python(
        &repo,
        &[
            "--note",
            "witness-state.txt",
            "--public-key",
            "audit.pub",
            "--cosigner",
            &format!("compliance.example/witness={}", witness_public(&repo)),
        ],
    );
    assert_eq!(code, 0, "{text}");
}

fn witness_public(repo: &Repo) -> String {
    let out = repo
        .lifeline()
        .args(["audit", "public-key"])
        .env("LIFELINE_AUDIT_KEY", WITNESS)
        .assert()
        .code(0);
    stdout(&out).trim().to_string()
}

#[test]
fn a_damaged_leaf_cache_never_yields_a_wrong_proof() {
    let repo = repo_with(6);
    let id = log(&repo, "target");
    assert_eq!(checkpoint(&repo).0, 0);
    let (code, first) = prove(&repo, &[&id]);
    assert_eq!(code, 0);
    let cache = repo.join(".git/lifeline/audit-index/tlog-leaves.bin");
    let mut bytes = std::fs::read(&cache).expect("prove keeps a leaf cache in .git");
    assert_eq!(bytes.len(), 7 * 48);
    bytes[20] ^= 1;
    std::fs::write(&cache, bytes).unwrap();
    let (code, again) = prove(&repo, &[&id]);
    assert_eq!(code, 0);
    assert_eq!(again, first);
    assert_eq!(verify_proof(&repo, &again, &[]).0, 0);
    // The cache grows with the log.
    log(&repo, "later");
    assert_eq!(checkpoint(&repo).0, 0);
    let (code, later) = prove(&repo, &[&id]);
    assert_eq!((code, later["tree_size"].as_u64()), (0, Some(8)));
    assert_eq!(verify_proof(&repo, &later, &[]).0, 0);
    assert_eq!(std::fs::read(&cache).unwrap().len(), 8 * 48);
}

#[test]
fn a_symlink_in_place_of_the_checkpoint_record_is_refused() {
    let repo = repo_with(2);
    let before = repo.read("planning/TASK.md");
    std::os::unix::fs::symlink(
        "../../planning/TASK.md",
        repo.join("docs/audit/checkpoints.jsonl"),
    )
    .unwrap();
    let (code, _, err) = checkpoint(&repo);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("checkpoints.jsonl"), "{err}");
    assert_eq!(repo.read("planning/TASK.md"), before);
}

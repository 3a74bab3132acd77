//! Claims of `docs/security.md` ("Who can influence lifeline", the
//! checkpoint and restore sections, the file system, reading git) that had
//! no test able to fail: each test names the sentence it holds and runs the
//! real binary in a real repository.

use crate::common::{Repo, stderr, stdout};

/// "Checkpoints and restore": `checkpoint create` refuses before making a
/// checkpoint whose audit entry could not be written, as `restore` does,
/// so a failed create never leaves a checkpoint behind unannounced.
#[test]
fn a_create_whose_entry_cannot_be_written_makes_no_checkpoint() {
    let repo = Repo::sample();
    let _ = std::fs::remove_dir_all(repo.join("docs/audit"));
    repo.write("docs/audit", "not a directory");
    let out = repo
        .lifeline()
        .args(["checkpoint", "create", "--type", "manual", "--operation", "x"])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("docs/audit"), "{}", stderr(&out));
    assert_eq!(
        repo.git(&["for-each-ref", "refs/lifeline/"]),
        "",
        "a checkpoint was made: {}",
        stdout(&out)
    );
}

//! Reading a repository the way git would, without starting git: where the
//! work tree and the git directory are, the commit `HEAD` names, and a
//! config value. An audit entry needs all three, and one `git` process
//! costs more than the rest of the entry put together.
//!
//! Each reader answers only for the layouts it models exactly, and says
//! "ask git" (`None`) for everything else, so an answer never differs from
//! git's: a `GIT_*` variable that changes where git looks or what it
//! reads, a `.git` that is a symlink or not a git directory, a directory
//! owned by someone else (`safe.directory`), a file-system boundary, a
//! bare repository,
//! `core.worktree`, config `include`s, reftable refs, a ref that is itself
//! symbolic, a file that is not a regular file or is larger than
//! [`FILE_LIMIT`], text that is not UTF-8 or that git would reject.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Where a repository's parts are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The top level of the work tree.
    pub work_tree: PathBuf,
    /// `.git`, or the directory a `.git` file names (a linked worktree,
    /// a submodule).
    pub git_dir: PathBuf,
    /// Where the shared parts live (`commondir`), else `git_dir`.
    pub common_dir: PathBuf,
}

/// The largest HEAD, ref or config file read in-process; git is asked
/// about anything larger.
pub(crate) const FILE_LIMIT: u64 = 1 << 20;

/// The `GIT_*` variables that change where git finds the repository, its
/// refs or its config (besides `GIT_CONFIG_NOSYSTEM`, which the config
/// reader models); any of them sends the question to git.
const STEERING_GIT_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_NAMESPACE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_REF_STORAGE",
];

/// True when no variable in the process environment or in `extra` (a
/// [`super::Git`] handle's own) changes how git finds the repository or
/// reads its config: [`STEERING_GIT_VARS`] and every `GIT_CONFIG*` but
/// `GIT_CONFIG_NOSYSTEM`.
pub(crate) fn environment_is_plain(extra: &[(String, String)]) -> bool {
    let steers = |key: &str| {
        STEERING_GIT_VARS.contains(&key)
            || key.starts_with("GIT_CONFIG") && key != "GIT_CONFIG_NOSYSTEM"
    };
    std::env::vars_os().all(|(key, _)| key.to_str().is_some_and(|k| !steers(k)))
        && extra.iter().all(|(key, _)| !steers(key))
}

/// The repository containing `start`, found as git finds it (upwards,
/// `.git` directory or `gitdir:` file), or `None` when git must be asked
/// or there is none.
pub(crate) fn discover(start: &Path) -> Option<Layout> {
    search(start).flatten()
}

/// [`discover`], telling the two `None`s apart: `Some(None)` when there
/// is certainly no repository (no directory from `start` up to `/` or to
/// the file system's boundary has a `.git` or is a git directory: git
/// finds none either), `None` when git must be asked.
pub(crate) fn search(start: &Path) -> Option<Option<Layout>> {
    let start = start.canonicalize().ok()?;
    let device = std::fs::metadata(&start).ok()?.dev();
    // SAFETY: geteuid takes nothing, cannot fail and touches no memory.
    let euid = unsafe { libc::geteuid() };
    for dir in start.ancestors() {
        let meta = std::fs::symlink_metadata(dir).ok()?;
        if meta.dev() != device {
            // git stops at a file-system boundary unless told otherwise
            // (GIT_DISCOVERY_ACROSS_FILESYSTEM, which sends the question
            // to git): it looks no further up, and finds no repository.
            return Some(None);
        }
        let dot_git = dir.join(".git");
        match std::fs::symlink_metadata(&dot_git) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return None,
            Ok(found) => {
                let (git_dir, gitfile_uid) = if found.is_dir() {
                    (dot_git, None)
                } else if found.is_file() {
                    (gitfile_target(dir, &dot_git)?, Some(found.uid()))
                } else {
                    return None;
                };
                let layout = git_directory(dir, &git_dir)?;
                // `safe.directory`: git refuses a repository owned by
                // someone else unless configured to trust it; git decides.
                let owned = [Some(meta.uid()), gitfile_uid, Some(owner(&layout.git_dir)?)]
                    .into_iter()
                    .flatten()
                    .all(|uid| uid == euid);
                if !owned || !plain_repository(&layout)? {
                    return None;
                }
                return Some(Some(layout));
            }
        }
        // A directory that may itself be a git directory (a bare
        // repository, a linked worktree's, or inside `.git`): not a work
        // tree this reader handles. git's test follows symlinks and reads
        // `commondir`, so any `HEAD` here sends the question to git rather
        // than walking past a repository git would stop at.
        if may_be_git_directory(dir) {
            return None;
        }
    }
    Some(None)
}

/// The git directory of the work tree `root` as its `.git` names it: the
/// directory itself, or where a `gitdir:` file points. No other check;
/// `None` when there is neither.
pub(crate) fn git_dir_of(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    gitfile_target(root, &dot_git)
}

/// Where the `.git` file `dot_git` in `dir` points (`gitdir: PATH`,
/// relative to `dir`).
fn gitfile_target(dir: &Path, dot_git: &Path) -> Option<PathBuf> {
    let text = read_regular(dot_git)??;
    let target = text
        .strip_prefix("gitdir: ")?
        .trim_end_matches(['\n', '\r']);
    (!target.is_empty()).then(|| dir.join(target))
}

fn owner(path: &Path) -> Option<u32> {
    std::fs::symlink_metadata(path).ok().map(|m| m.uid())
}

/// The layout when `git_dir` is a git directory (HEAD, `objects/`, `refs/`).
fn git_directory(work_tree: &Path, git_dir: &Path) -> Option<Layout> {
    let git_dir = git_dir.canonicalize().ok()?;
    let common_dir = match read_regular(&git_dir.join("commondir"))? {
        Some(rel) => git_dir
            .join(rel.trim_end_matches(['\n', '\r']))
            .canonicalize()
            .ok()?,
        None => git_dir.clone(),
    };
    if !is_git_directory(&git_dir, &common_dir) {
        return None;
    }
    Some(Layout {
        work_tree: work_tree.to_path_buf(),
        git_dir,
        common_dir,
    })
}

/// Whether git could take `dir` for a git directory: it has a `HEAD` of
/// any kind (git accepts a symlinked one, and finds `objects/` and
/// `refs/` through symlinks or `commondir`), or cannot be looked at.
fn may_be_git_directory(dir: &Path) -> bool {
    match std::fs::symlink_metadata(dir.join("HEAD")) {
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
        Ok(_) => true,
    }
}

/// git's own test: a HEAD file, and `objects/` and `refs/` directories.
fn is_git_directory(git_dir: &Path, common_dir: &Path) -> bool {
    let is = |p: PathBuf, dir: bool| {
        std::fs::symlink_metadata(p).is_ok_and(|m| if dir { m.is_dir() } else { m.is_file() })
    };
    is(git_dir.join("HEAD"), false)
        && is(common_dir.join("objects"), true)
        && is(common_dir.join("refs"), true)
}

/// The repository's own config says nothing that changes where the work
/// tree is or how its refs are stored; `None` when it cannot be read.
fn plain_repository(layout: &Layout) -> Option<bool> {
    let config = repository_config(layout)?;
    let version = lookup(&config, "core.repositoryformatversion");
    let plain = lookup(&config, "core.worktree").is_none()
        && lookup(&config, "extensions.refstorage").is_none()
        && matches!(lookup(&config, "core.bare"), None | Some(Some("false")))
        && matches!(version, None | Some(Some("0" | "1")));
    Some(plain)
}

/// The repository's config entries: `config`, then `config.worktree`
/// when `extensions.worktreeConfig` is on.
fn repository_config(layout: &Layout) -> Option<Vec<Entry>> {
    let mut entries = match read_regular(&layout.common_dir.join("config"))? {
        Some(text) => parse(&text)?,
        None => Vec::new(),
    };
    match lookup(&entries, "extensions.worktreeconfig") {
        None | Some(Some("false")) => {}
        Some(None | Some("true")) => {
            if let Some(text) = read_regular(&layout.git_dir.join("config.worktree"))? {
                entries.extend(parse(&text)?);
            }
        }
        Some(Some(_)) => return None,
    }
    Some(entries)
}

/// The last value of `key` in the files git reads, in git's order (system,
/// global, repository, worktree): `Some(None)` when none sets it, `None`
/// when git must be asked. A key without `=` reads as "" (what
/// `git config --get` prints for it).
pub(crate) fn config_value(layout: &Layout, key: &str) -> Option<Option<String>> {
    // Only where the system file's place is known (`/etc/gitconfig` on
    // Linux distributions and GitHub's runners); elsewhere git is asked.
    if !cfg!(target_os = "linux") {
        return None;
    }
    let mut files = Vec::new();
    // A boolean to git: set to a false value, the system file is read.
    let nosystem = std::env::var_os("GIT_CONFIG_NOSYSTEM");
    let skip_system = match nosystem.as_ref().map(|v| v.to_str()) {
        None => false,
        Some(Some(v)) => bool_value(v)?,
        Some(None) => return None,
    };
    if !skip_system {
        files.push(PathBuf::from("/etc/gitconfig"));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if home.as_ref().is_some_and(|h| h.as_os_str().is_empty()) {
        return None;
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|x| !x.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    files.extend(xdg.map(|x| x.join("git/config")));
    files.extend(home.map(|h| h.join(".gitconfig")));
    let mut value = None;
    for path in files {
        if let Some(text) = read_regular(&path)?
            && let Some(found) = lookup(&parse(&text)?, key)
        {
            value = Some(found.unwrap_or_default().to_string());
        }
    }
    if let Some(found) = lookup(&repository_config(layout)?, key) {
        value = Some(found.unwrap_or_default().to_string());
    }
    Some(value)
}

/// The variables besides [`STEERING_GIT_VARS`] that change where git
/// reads or writes objects.
const OBJECT_GIT_VARS: &[&str] = &["GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"];

/// Whether objects and refs can be written in-process exactly as git
/// would ([`super::odb`]): SHA-1 objects and files refs (no repository
/// extension but `worktreeConfig`), no alternates, no
/// `core.sharedRepository` (git would adjust each file's permissions),
/// `core.logAllRefUpdates` not `always` (git would write a reflog), and no
/// variable in the environment or `extra` pointing git at other objects.
/// `None` when the config cannot be read here.
pub(crate) fn objects_are_plain(layout: &Layout, extra: &[(String, String)]) -> Option<bool> {
    let steers = |key: &str| OBJECT_GIT_VARS.contains(&key);
    if std::env::vars_os().any(|(key, _)| key.to_str().is_none_or(steers))
        || extra.iter().any(|(key, _)| steers(key))
    {
        return Some(false);
    }
    let extensions = repository_config(layout)?
        .iter()
        .any(|(key, _)| key.starts_with("extensions.") && key != "extensions.worktreeconfig");
    if extensions {
        return Some(false);
    }
    match std::fs::symlink_metadata(layout.common_dir.join("objects/info/alternates")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        _ => return Some(false),
    }
    if config_value(layout, "core.sharedRepository")?.is_some() {
        return Some(false);
    }
    let reflogs = config_value(layout, "core.logAllRefUpdates")?;
    Some(reflogs.is_none_or(|v| !v.eq_ignore_ascii_case("always")))
}

/// A boolean as git reads one from the environment; `None` for anything
/// else (git may read it as a number).
fn bool_value(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "" | "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The commit `HEAD` names: `Some(Some(id))`, `Some(None)` on an unborn
/// branch, `None` when git must be asked (a symbolic ref below HEAD,
/// reftable, anything unexpected).
pub(crate) fn head(layout: &Layout) -> Option<Option<String>> {
    let head = read_regular(&layout.git_dir.join("HEAD"))??;
    let head = head.trim_end_matches(['\n', '\r']);
    let Some(reference) = head.strip_prefix("ref:") else {
        return is_object_id(head).then(|| Some(head.to_string()));
    };
    let reference = reference.trim_start_matches([' ', '\t']);
    if !reference.starts_with("refs/")
        || reference
            .split('/')
            .any(|part| part.is_empty() || part.starts_with('.'))
    {
        return None;
    }
    // Per-worktree refs live in the git directory, shared ones in the
    // common directory; a loose ref wins over a packed one.
    let own = reference.starts_with("refs/bisect/") || reference.starts_with("refs/worktree/");
    let dir = if own {
        &layout.git_dir
    } else {
        &layout.common_dir
    };
    if let Some(text) = read_regular(&dir.join(reference))? {
        let id = text.trim_end_matches(['\n', '\r']);
        return is_object_id(id).then(|| Some(id.to_string()));
    }
    if let Some(packed) = read_regular(&layout.common_dir.join("packed-refs"))? {
        for line in packed.lines() {
            if let Some((id, name)) = line.split_once(' ')
                && name == reference
            {
                return is_object_id(id).then(|| Some(id.to_string()));
            }
        }
    }
    Some(None)
}

fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A regular file's text: `Some(None)` when it does not exist, `None` when
/// it is something else (a FIFO is never waited on), unreadable, larger
/// than [`FILE_LIMIT`] or not UTF-8.
fn read_regular(path: &Path) -> Option<Option<String>> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(None),
        Err(_) => return None,
    };
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > FILE_LIMIT {
        return None;
    }
    let mut text = String::new();
    file.take(FILE_LIMIT + 1).read_to_string(&mut text).ok()?;
    (text.len() as u64 <= FILE_LIMIT).then_some(Some(text))
}

/// One config entry: the variable as git names it (`section.name`, or
/// `section.subsection.name` with the subsection's case kept) and its
/// value (`None`: the key had no `=`).
type Entry = (String, Option<String>);

/// The last value of `key` among `entries`.
fn lookup<'a>(entries: &'a [Entry], key: &str) -> Option<Option<&'a str>> {
    let key = canonical_key(key);
    entries
        .iter()
        .rev()
        .find(|(var, _)| *var == key)
        .map(|(_, value)| value.as_deref())
}

/// `key` as git compares it: section and name in lower case, the
/// subsection as written.
fn canonical_key(key: &str) -> String {
    match (key.find('.'), key.rfind('.')) {
        (Some(first), Some(last)) => format!(
            "{}{}{}",
            key[..first].to_ascii_lowercase(),
            &key[first..last],
            key[last..].to_ascii_lowercase()
        ),
        _ => key.to_ascii_lowercase(),
    }
}

/// Parses one config file as git's `config.c` does; `None` for anything
/// git would reject and for `include`/`includeIf` (whose files this reader
/// does not follow).
fn parse(text: &str) -> Option<Vec<Entry>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut chars = text.replace("\r\n", "\n").chars().collect::<Vec<_>>();
    chars.push('\n');
    let mut at = 0;
    let mut section: Option<String> = None;
    let mut entries = Vec::new();
    let mut comment = false;
    while at < chars.len() {
        let c = chars[at];
        at += 1;
        if c == '\n' {
            comment = false;
            continue;
        }
        if comment || c.is_ascii_whitespace() {
            continue;
        }
        if c == '#' || c == ';' {
            comment = true;
            continue;
        }
        if c == '[' {
            let (name, next) = section_header(&chars, at)?;
            if name.is_empty() || name.starts_with("include.") || name == "include" {
                return None;
            }
            if name == "includeif" || name.starts_with("includeif.") {
                return None;
            }
            section = Some(name);
            at = next;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            return None;
        }
        let mut name = String::from(c.to_ascii_lowercase());
        while chars[at].is_ascii_alphanumeric() || chars[at] == '-' {
            name.push(chars[at].to_ascii_lowercase());
            at += 1;
        }
        while matches!(chars[at], ' ' | '\t') {
            at += 1;
        }
        let value = if chars[at] == '\n' {
            None
        } else if chars[at] == '=' {
            let (value, next) = value(&chars, at + 1)?;
            at = next;
            Some(value)
        } else {
            return None;
        };
        entries.push((format!("{}.{name}", section.as_ref()?), value));
    }
    Some(entries)
}

/// A section header after its `[`: `[section]`, `[section.sub]` (all lower
/// case) or `[section "Sub"]`; the name and where parsing goes on.
fn section_header(chars: &[char], mut at: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    loop {
        let c = *chars.get(at)?;
        at += 1;
        if c == ']' {
            return Some((name, at));
        }
        if c.is_ascii_whitespace() {
            if c == '\n' {
                return None;
            }
            break;
        }
        if !(c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            return None;
        }
        name.push(c.to_ascii_lowercase());
    }
    while chars.get(at)?.is_ascii_whitespace() {
        if chars[at] == '\n' {
            return None;
        }
        at += 1;
    }
    if chars[at] != '"' {
        return None;
    }
    at += 1;
    name.push('.');
    loop {
        let mut c = *chars.get(at)?;
        at += 1;
        match c {
            '\n' => return None,
            '"' => break,
            '\\' => {
                c = *chars.get(at)?;
                at += 1;
                if c == '\n' {
                    return None;
                }
            }
            _ => {}
        }
        name.push(c);
    }
    (*chars.get(at)? == ']').then_some((name, at + 1))
}

/// A value after its `=`: leading and trailing blanks dropped, quotes
/// removed, `\t \b \n \\ \"` and line continuations resolved, comments
/// outside quotes ignored; the value and the index after its line.
fn value(chars: &[char], mut at: usize) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut quote = false;
    let mut comment = false;
    let mut trim_len = 0;
    loop {
        let c = *chars.get(at)?;
        at += 1;
        if c == '\n' {
            if quote {
                return None;
            }
            if trim_len > 0 {
                out.truncate(trim_len);
            }
            return Some((out, at));
        }
        if comment {
            continue;
        }
        if c.is_ascii_whitespace() && !quote {
            if trim_len == 0 {
                trim_len = out.len();
            }
            if !out.is_empty() {
                out.push(c);
            }
            continue;
        }
        if !quote && (c == ';' || c == '#') {
            comment = true;
            continue;
        }
        trim_len = 0;
        match c {
            '\\' => {
                let escaped = *chars.get(at)?;
                at += 1;
                match escaped {
                    '\n' => {}
                    't' => out.push('\t'),
                    'b' => out.push('\u{8}'),
                    'n' => out.push('\n'),
                    '\\' | '"' => out.push(escaped),
                    _ => return None,
                }
            }
            '"' => quote = !quote,
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(text: &str, key: &str) -> Option<Option<String>> {
        Some(lookup(&parse(text)?, key).map(|v| v.unwrap_or_default().to_string()))
    }

    #[test]
    fn values_are_read_as_git_reads_them() {
        let cfg = "[core]\n\tbare = false\n[user]\n\temail = a@b\n\tname = Ada Lovelace\n";
        assert_eq!(get(cfg, "user.name"), Some(Some("Ada Lovelace".into())));
        assert_eq!(get(cfg, "USER.Name"), Some(Some("Ada Lovelace".into())));
        assert_eq!(
            get("[user]\n name = \"Q\"\n", "user.name"),
            Some(Some("Q".into()))
        );
        assert_eq!(get("[core]\n name = x\n", "user.name"), Some(None));
        assert_eq!(
            get("[user] name = a # c\n", "user.name"),
            Some(Some("a".into()))
        );
        assert_eq!(
            get("[user]\n name = \" a ; b \"  ; c\n", "user.name"),
            Some(Some(" a ; b ".into()))
        );
        assert_eq!(
            get("[user]\n name = a\\\n  b\\t\\\"c\\\"\n", "user.name"),
            Some(Some("a  b\t\"c\"".into()))
        );
        assert_eq!(
            get("[user]\n name\n", "user.name"),
            Some(Some(String::new()))
        );
        assert_eq!(
            get("[user]\nname=a\nname=b\n", "user.name"),
            Some(Some("b".into()))
        );
        assert_eq!(
            get("\u{feff}[user]\r\nname=a\r\n", "user.name"),
            Some(Some("a".into()))
        );
    }

    #[test]
    fn subsections_keep_their_case_and_the_old_form_is_lower_case() {
        let cfg = "[remote \"Origin\"]\n url = u1\n[branch.Main]\n remote = r\n";
        assert_eq!(get(cfg, "remote.Origin.url"), Some(Some("u1".into())));
        assert_eq!(get(cfg, "remote.origin.url"), Some(None));
        assert_eq!(get(cfg, "branch.main.remote"), Some(Some("r".into())));
        assert_eq!(
            get("[remote \"a\\\"b\"]\n url = x\n", "remote.a\"b.url"),
            Some(Some("x".into()))
        );
    }

    #[test]
    fn what_git_would_reject_or_include_is_left_to_git() {
        for bad in [
            "[include]\n path = x\n",
            "[includeIf \"gitdir:/x/\"]\n path = y\n",
            "[user]\n name = a\\q\n",
            "[user]\n name = \"open\n",
            "[user\n",
            "name = no section\n",
            "[user]\n 9name = x\n",
            "[user]\n name x\n",
            "[sec \"unterminated]\n",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn objects_are_written_in_process_only_where_the_writer_models_them() {
        let tmp = tempfile::tempdir().unwrap();
        crate::test_support::git(tmp.path(), &["init", "-q", "-b", "main"]);
        let layout = discover(tmp.path()).unwrap();
        assert_eq!(objects_are_plain(&layout, &[]), Some(true));
        let alternate = [(
            "GIT_ALTERNATE_OBJECT_DIRECTORIES".to_string(),
            "/elsewhere".to_string(),
        )];
        assert_eq!(objects_are_plain(&layout, &alternate), Some(false));
        let config = |key: &str, value: &str| {
            crate::test_support::git(tmp.path(), &["config", key, value]);
            let plain = objects_are_plain(&layout, &[]);
            crate::test_support::git(tmp.path(), &["config", "--unset", key]);
            plain
        };
        assert_eq!(config("core.sharedRepository", "group"), Some(false));
        assert_eq!(config("core.logAllRefUpdates", "always"), Some(false));
        assert_eq!(config("core.logAllRefUpdates", "true"), Some(true));
        assert_eq!(config("extensions.preciousObjects", "true"), Some(false));
        let alternates = layout.common_dir.join("objects/info/alternates");
        std::fs::write(&alternates, "/elsewhere/objects\n").unwrap();
        assert_eq!(objects_are_plain(&layout, &[]), Some(false));
    }

    /// What git says the git directory of `dir` is, or `None` when it
    /// finds none.
    /// Through the git module, like every git process lifeline starts.
    fn gits_answer(dir: &Path) -> Option<PathBuf> {
        crate::git::Git::new(dir)
            .run(["rev-parse", "--absolute-git-dir"])
            .ok()
            .map(|text| PathBuf::from(text.trim_end()))
    }

    /// Inside a work tree, a committed directory that git takes for a
    /// repository (a fixture with a `HEAD` and `commondir`, or a symlinked
    /// `objects`) stops git's walk there; the reader must not walk past it
    /// to the work tree above.
    #[test]
    fn a_directory_git_takes_for_a_repository_is_never_walked_past() {
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().canonicalize().unwrap();
        crate::test_support::git(&work, &["init", "-q", "-b", "main"]);
        let common = work.join("fixtures/common");
        std::fs::create_dir_all(common.join("sub")).unwrap();
        std::fs::write(common.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(common.join("commondir"), "../../.git\n").unwrap();
        let linked = work.join("fixtures/linked");
        std::fs::create_dir_all(linked.join("sub")).unwrap();
        std::fs::create_dir_all(linked.join("refs")).unwrap();
        std::fs::write(linked.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::os::unix::fs::symlink("../../.git/objects", linked.join("objects")).unwrap();
        for fixture in [&common, &linked] {
            let inside = fixture.join("sub");
            assert_eq!(gits_answer(&inside), Some(fixture.to_path_buf()));
            assert_eq!(search(&inside), None, "{}", fixture.display());
        }
        // The work tree itself is still read in-process.
        std::fs::create_dir_all(work.join("plain")).unwrap();
        assert_eq!(gits_answer(&work.join("plain")), Some(work.join(".git")));
        let found = search(&work.join("plain")).unwrap().unwrap();
        assert_eq!(found.work_tree, work);
    }

    #[test]
    fn a_dot_git_that_is_a_link_fifo_or_bad_file_is_left_to_git() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        crate::test_support::git(&real, &["init", "-q", "-b", "main"]);
        let linked = tmp.path().join("linked");
        std::fs::create_dir(&linked).unwrap();
        std::os::unix::fs::symlink(real.join(".git"), linked.join(".git")).unwrap();
        assert_eq!(search(&linked), None);
        let fifo = tmp.path().join("fifo");
        std::fs::create_dir(&fifo).unwrap();
        let path = std::ffi::CString::new(fifo.join(".git").to_str().unwrap()).unwrap();
        // SAFETY: `path` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
        assert_eq!(search(&fifo), None);
        let bad = tmp.path().join("bad");
        std::fs::create_dir(&bad).unwrap();
        std::fs::write(bad.join(".git"), "not a gitfile\n").unwrap();
        assert_eq!(search(&bad), None);
        std::fs::write(bad.join(".git"), "gitdir: nowhere\n").unwrap();
        assert_eq!(search(&bad), None);
        // An empty `.git` directory inside a repository: git walks on to
        // the repository above; the reader asks git.
        let empty = real.join("empty");
        std::fs::create_dir_all(empty.join(".git")).unwrap();
        assert_eq!(
            gits_answer(&empty),
            Some(real.canonicalize().unwrap().join(".git"))
        );
        assert_eq!(search(&empty), None);
    }

    /// Across a file-system boundary neither git nor the reader looks
    /// further up: both find no repository.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_file_system_boundary_ends_the_search_as_it_ends_gits() {
        let proc_dir = Path::new("/proc/self/fd");
        assert_eq!(search(proc_dir), Some(None));
        assert_eq!(gits_answer(proc_dir), None);
    }

    #[test]
    fn variables_that_steer_discovery_send_it_to_git() {
        for key in [
            "GIT_DIR",
            "GIT_CEILING_DIRECTORIES",
            "GIT_DISCOVERY_ACROSS_FILESYSTEM",
            "GIT_WORK_TREE",
            "GIT_COMMON_DIR",
            "GIT_CONFIG_GLOBAL",
        ] {
            assert!(!environment_is_plain(&[(key.into(), "/x".into())]), "{key}");
        }
    }

    #[test]
    fn object_ids_are_sha1_or_sha256_hex() {
        assert!(is_object_id(&"a".repeat(40)));
        assert!(is_object_id(&"0".repeat(64)));
        assert!(!is_object_id(&"g".repeat(40)));
        assert!(!is_object_id("ref: refs/heads/main"));
    }
}

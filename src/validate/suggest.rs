//! "Did you mean …?" for misspelt keys.

/// Whether `a` is within two single-character edits (insert, delete,
/// substitute) of `b`: close enough to suggest `b` for a misspelt `a`.
/// Callers lowercase `a` first, so a difference in case alone is close.
pub fn close(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()] <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_edits_are_close_three_are_not() {
        assert!(close("colour", "color"));
        assert!(close("spirnt_id", "sprint_id"));
        assert!(close("descripton", "description"));
        assert!(!close("owner", "color"));
        assert!(!close("a", "abcd"));
    }
}

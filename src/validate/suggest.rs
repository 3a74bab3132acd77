//! "Did you mean …?" for misspelt keys.

/// The allowed value nearest to `value` (case ignored) when it is close
/// enough to be a typo of it — within two edits, and at most a third of
/// the value's length — and no other value is as near.
pub(crate) fn nearest<'a>(value: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let value = value.to_lowercase();
    let limit = (value.chars().count() / 3).clamp(1, 2);
    let mut best: Option<(usize, &'a str)> = None;
    let mut tie = false;
    let len = value.chars().count();
    for a in allowed {
        // Far apart in length is far apart in edits: no quadratic work on
        // a hostile 1 MB cell.
        if len.abs_diff(a.chars().count()) > limit {
            continue;
        }
        let d = distance(&value, &a.to_lowercase());
        match best {
            Some((b, _)) if d > b => {}
            Some((b, _)) if d == b => tie = true,
            _ => {
                best = Some((d, a));
                tie = false;
            }
        }
    }
    best.filter(|(d, _)| *d <= limit && !tie).map(|(_, a)| a)
}

/// Levenshtein distance with adjacent transpositions counted as one edit
/// (`Blokced` → `Blocked`).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_names_one_value_or_none() {
        let statuses = [
            "Not Started",
            "In Progress",
            "Blocked",
            "Review",
            "Testing",
            "Done",
        ];
        assert_eq!(nearest("In Progres", &statuses), Some("In Progress"));
        assert_eq!(nearest("Blokced", &statuses), Some("Blocked"));
        assert_eq!(nearest("done", &statuses), Some("Done"));
        assert_eq!(nearest("Shipped", &statuses), None);
        // Equally near to two values: no guess.
        assert_eq!(nearest("ab", &["ax", "ay"]), None);
        assert_eq!(
            nearest("spirnt_id", &["sprint_id", "sprint_number"]),
            Some("sprint_id")
        );
        assert_eq!(nearest("colour", &["name", "color"]), Some("color"));
        assert_eq!(nearest("descripton", &["description"]), Some("description"));
        assert_eq!(nearest("owner", &["color"]), None);
    }
}

//! Making outside text inert in what lifeline writes to GitHub.
//!
//! Workflow and job names, branch names, file names and file contents are
//! shaped by people lifeline does not trust (a fork pull request's author,
//! anyone who can open an issue). Written into an issue or a comment as
//! is, such text could @mention people or teams, link or embed images,
//! inject HTML (an HTML comment mimicking lifeline's state marker
//! included), or close a code span. Everything outside goes through
//! [`inert`] (prose) or [`title`] (an issue title) first.

/// The character GitHub's mention and reference filters do not see
/// through: `@\u{200B}name` neither notifies nor links.
const BREAK: char = '\u{200B}';

/// The ASCII punctuation that can start something in GitHub Markdown
/// inside a line: code spans, emphasis, links and images (a link needs
/// `[` and `]`), HTML and autolinks, tables, strikethrough, entities, math.
const ACTIVE: &str = "\\`*_[]<>!|~&$";

/// The longest issue title GitHub accepts, in characters.
pub(crate) const MAX_TITLE_CHARS: usize = 256;

/// `text` as Markdown that renders as the same visible characters and
/// does nothing else: one line; every ASCII punctuation character that
/// Markdown or HTML could act on inside a line backslash-escaped (no link, image,
/// HTML, emphasis, table cell or code span can start); `@` and `#`
/// followed by an invisible break (no mention, team mention or issue
/// reference); URL schemes and `www.` broken (no autolink); control and
/// bidirectional-override characters dropped.
pub(crate) fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let lower = text.to_ascii_lowercase();
    for (i, c) in text.char_indices() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if dropped(c) => {}
            '@' | '#' => {
                out.push('\\');
                out.push(c);
                out.push(BREAK);
            }
            ':' if lower[i..].starts_with("://") => {
                out.push_str("\\:");
                out.push(BREAK);
            }
            '.' if i >= 3 && lower[..i].ends_with("www") => {
                out.push(BREAK);
                out.push_str("\\.");
            }
            c if ACTIVE.contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` fit for an issue title: one line, no mention or reference, no
/// code span, at most [`MAX_TITLE_CHARS`] characters. Titles do not
/// render backslash escapes, so nothing is escaped that way.
pub(crate) fn title(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if dropped(c) => {}
            '@' | '#' => {
                out.push(c);
                out.push(BREAK);
            }
            '`' => out.push('\''),
            c => out.push(c),
        }
    }
    truncate_chars(&out, MAX_TITLE_CHARS)
}

/// At most `max` characters of `text`, ending in `…` when cut.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Control characters and the bidirectional overrides that make text
/// read differently from what it is.
fn dropped(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_cannot_act() {
        let hostile = "@octocat @acme/admins #12 acme/x#3 [x](https://evil.example) ![i](https://e/i.png) <img src=x> <!-- lifeline:alert fingerprint=x --> `` ` `` www.evil.example a@b.co &#64;me |c| *e* \u{202E}rev\nnext";
        let out = inert(hostile);
        for gone in [
            "@octocat", "@acme", "#12", "#3", "https://", "www.", "a@b", "\u{202E}", "\n",
        ] {
            assert!(!out.contains(gone), "{gone:?} survived in {out:?}");
        }
        // Every character that could open a link, image, HTML, entity or
        // code span is escaped.
        for active in ['[', ']', '!', '<', '>', '`', '&', '|', '*'] {
            assert!(
                out.match_indices(active)
                    .all(|(i, _)| out[..i].ends_with('\\')),
                "{active:?} unescaped in {out:?}"
            );
        }
        // What a reader sees is the same characters, minus the breaks.
        let seen: String = out.chars().filter(|c| *c != '\\' && *c != BREAK).collect();
        assert!(seen.starts_with("@octocat @acme/admins #12"), "{seen}");
    }

    #[test]
    fn plain_text_stays_readable() {
        assert_eq!(
            inert("missing label `type/bug` (x: y)"),
            "missing label \\`type/bug\\` (x: y)"
        );
        assert_eq!(
            title("task-sync.yml: 2 failed runs"),
            "task-sync.yml: 2 failed runs"
        );
    }

    #[test]
    fn titles_are_short_and_inert() {
        let t = title(&format!("@team `x` #1 {}", "y".repeat(400)));
        assert_eq!(t.chars().count(), MAX_TITLE_CHARS);
        assert!(!t.contains("@team") && !t.contains('`') && !t.contains("#1"));
        assert!(t.ends_with('…'));
    }
}

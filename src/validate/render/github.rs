//! GitHub Actions output: one workflow command per finding, which the
//! runner turns into an annotation on the file in the pull request, and a
//! Markdown step summary.
//!
//! ```text
//! ::error file=planning/TASK.md,line=7,col=3,endLine=7,endColumn=8,title=TASK011::duplicate task ID `T-002`%0Ahelp: …
//! ```
//!
//! Values are escaped the way the runner (and `@actions/core`) expects:
//! `%`, CR and LF in the message, and also `:` and `,` in properties, so
//! text quoted from a file can neither end the command early nor start a
//! new one.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::validate::Report;
use crate::validate::diagnostic::{Diagnostic, Level};

use super::{counts, plural};

/// At most this many findings are listed in the step summary.
const SUMMARY_FINDINGS: usize = 200;
/// GitHub refuses a step summary over 1 MiB; the summary stays under this
/// many bytes, leaving room for what other tools of the step append.
pub(crate) const SUMMARY_BYTES: usize = 1_000_000;
/// A message, note or help longer than this is cut in the summary.
const SUMMARY_TEXT_CHARS: usize = 2_000;
/// GitHub shows at most this many error annotations, and as many warning
/// annotations, per step; the rest are dropped without a word.
pub(crate) const MAX_ANNOTATIONS: usize = 10;

/// Writes one workflow command per finding of `report`, at most
/// [`MAX_ANNOTATIONS`] errors and as many warnings (the most important:
/// a corrupt file before a rule inside it, then in file order), and one
/// notice saying how many more there are and where to read them.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let all: Vec<&Diagnostic> = report.diagnostics().collect();
    let mut shown = vec![false; all.len()];
    let mut hidden = [0usize; 2];
    for (slot, level) in [Level::Error, Level::Warning].into_iter().enumerate() {
        let mut of_level: Vec<usize> = (0..all.len()).filter(|&i| all[i].level == level).collect();
        // Stable: file order within each rank.
        of_level.sort_by_key(|&i| !all[i].code.starts_with("FILE"));
        for (n, i) in of_level.into_iter().enumerate() {
            if n < MAX_ANNOTATIONS {
                shown[i] = true;
            } else {
                hidden[slot] += 1;
            }
        }
    }
    for (d, _) in all.iter().zip(&shown).filter(|(_, s)| **s) {
        writeln!(out, "{}", command(d))?;
    }
    let [errors, warnings] = hidden;
    if let Some(more) = counts(errors, warnings) {
        let listed = all.len().min(SUMMARY_FINDINGS);
        let whole = if all.len() > listed {
            format!(" (the first {listed} of them; `lifeline validate` prints all)")
        } else {
            String::new()
        };
        writeln!(
            out,
            "::notice title=lifeline::{}",
            escape_data(&format!(
                "{more} more not annotated (GitHub shows {MAX_ANNOTATIONS} errors and {MAX_ANNOTATIONS} warnings per step): every finding is in the step summary{whole}"
            ))
        )?;
    }
    Ok(())
}

/// The workflow command for one finding, without a newline.
pub(crate) fn command(d: &Diagnostic) -> String {
    let mut properties = vec![("file", d.path.clone())];
    if let Some(span) = d.span {
        properties.push(("line", span.line.to_string()));
        // Columns are only meaningful on a single line.
        if span.end_line == span.line {
            properties.push(("col", span.column.to_string()));
        }
        properties.push(("endLine", span.end_line.to_string()));
        if span.end_line == span.line {
            properties.push(("endColumn", span.end_column.to_string()));
        }
    }
    properties.push(("title", d.code.to_string()));
    let properties: Vec<String> = properties
        .into_iter()
        .map(|(key, value)| format!("{key}={}", escape_property(&value)))
        .collect();
    format!(
        "::{} {}::{}",
        d.level.as_str(),
        properties.join(","),
        escape_data(&message(d))
    )
}

/// The message with its notes and help on lines of their own.
fn message(d: &Diagnostic) -> String {
    let mut text = d.message.clone();
    for note in &d.notes {
        match note.span {
            Some(span) => write!(
                text,
                "\nnote: {} ({}:{}:{})",
                note.message, d.path, span.line, span.column
            ),
            None => write!(text, "\nnote: {}", note.message),
        }
        .expect("writing to a String cannot fail");
    }
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    text
}

/// Escapes a workflow command's message.
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A Markdown summary of `report` for `$GITHUB_STEP_SUMMARY`: a table of
/// the files, then the findings.
pub(crate) fn step_summary(report: &Report) -> String {
    let (errors, warnings) = (report.errors(), report.warnings());
    let files = plural(report.files.len(), "file");
    let mut md = String::from("## lifeline validate\n\n");
    let verdict = match counts(errors, warnings) {
        None => format!("✅ validated {files}: all valid"),
        Some(counts) if errors > 0 => format!("❌ validated {files}: {counts}"),
        Some(counts) => format!("⚠️ validated {files}: {counts}"),
    };
    md.push_str(&verdict);
    md.push_str("\n\n| File | Validator | Result | Errors | Warnings |\n");
    md.push_str("| --- | --- | --- | ---: | ---: |\n");
    // Room kept for the findings heading and the closing "… more" line.
    let budget = SUMMARY_BYTES - 1_000;
    for (n, file) in report.files.iter().enumerate() {
        if md.len() > budget / 4 {
            md.push_str(&format!("| … {} more | | | | |\n", report.files.len() - n));
            break;
        }
        let result = match (file.errors, file.warnings) {
            (0, 0) => "✅ valid",
            (0, _) => "⚠️ valid, with warnings",
            _ => "❌ invalid",
        };
        md.push_str(&format!(
            "| {} | {} | {result} | {} | {} |\n",
            code(&file.path).replace('|', "\\|"),
            file.validator.as_str(),
            file.errors,
            file.warnings
        ));
    }
    let total = errors + warnings;
    if total == 0 {
        return md;
    }
    md.push_str("\n### Findings\n\n");
    let mut listed = 0;
    for d in report.diagnostics().take(SUMMARY_FINDINGS) {
        let mut entry = String::new();
        let icon = match d.level {
            Level::Error => "❌",
            Level::Warning => "⚠️",
        };
        let at = match d.span {
            Some(span) => format!("{}:{}:{}", d.path, span.line, span.column),
            None => d.path.clone(),
        };
        entry.push_str(&format!(
            "- {icon} **{}** {} {}\n",
            d.code,
            code(&cut(&at)),
            inline(&cut(&d.message))
        ));
        for note in &d.notes {
            let at = note
                .span
                .map(|s| format!(" (line {})", s.line))
                .unwrap_or_default();
            entry.push_str(&format!("  - note: {}{at}\n", inline(&cut(&note.message))));
        }
        if let Some(help) = &d.help {
            entry.push_str(&format!("  - help: {}\n", inline(&cut(help))));
        }
        if md.len() + entry.len() > budget {
            break;
        }
        md.push_str(&entry);
        listed += 1;
    }
    if total > listed {
        md.push_str(&format!(
            "- … and {} more; run `lifeline validate` to see them all\n",
            total - listed
        ));
    }
    md
}

/// `text`, cut to [`SUMMARY_TEXT_CHARS`] characters with a mark saying so.
fn cut(text: &str) -> String {
    match text.char_indices().nth(SUMMARY_TEXT_CHARS) {
        Some((at, _)) => format!(
            "{} … (cut; {} characters)",
            &text[..at],
            text.chars().count()
        ),
        None => text.to_string(),
    }
}

/// `text` as a Markdown code span, whatever backticks it holds.
fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A finding's text as inline Markdown: its `code spans` stay code, and
/// everything else is escaped so text quoted from a file cannot become
/// markup (a link, an image, HTML, a table cell).
fn inline(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let balanced = text.matches('`').count().is_multiple_of(2);
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push_str(if balanced { "`" } else { "\\`" });
        }
        if balanced && i % 2 == 1 {
            out.push_str(part);
            continue;
        }
        for c in part.chars() {
            if "\\*_[]<>|~!#&".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::render::fixture;
    use crate::validate::rules::Rule;

    #[test]
    fn one_command_per_finding() {
        let mut out = Vec::new();
        render(&fixture::report(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\
::error file=planning/TASK.md,line=6,col=18,endLine=6,endColumn=23,title=TASK015::unknown status `Doing`%0Ahelp: use one of Not Started, In Progress, Blocked, Review, Testing, Done
::error file=planning/TASK.md,line=7,col=3,endLine=7,endColumn=8,title=TASK011::duplicate task ID `T-002`%0Anote: first defined here (planning/TASK.md:6:3)%0Ahelp: give every task its own ID, e.g. the next free one, `T-003`
::error file=planning/sprint.config.json,title=FILE001::protected file `planning/sprint.config.json` does not exist%0Ahelp: restore it (`lifeline restore latest-valid --only PATH`)
"
        );
    }

    /// A report of one TASK.md with `errors` errors and `warnings`
    /// warnings, each with a message of `len` characters.
    fn many(errors: usize, warnings: usize, len: usize) -> Report {
        let src = crate::validate::diagnostic::Source::new(
            "planning/TASK.md",
            "x\n".repeat(errors + warnings + 1),
        );
        let mut ds: Vec<Diagnostic> = (0..warnings)
            .map(|i| {
                src.diag_at(
                    Rule::TaskNoOwner,
                    src.text.lines().nth(i).unwrap(),
                    format!("w{i} {}", "字".repeat(len)),
                )
            })
            .collect();
        ds.extend((0..errors).map(|i| {
            Diagnostic::new(
                Rule::TaskBadTitle,
                "planning/TASK.md",
                format!("e{i} {}", "字".repeat(len)),
            )
        }));
        ds.push(Diagnostic::new(
            Rule::FileEmpty,
            "planning/TASK.md",
            "the file is empty",
        ));
        Report {
            files: vec![fixture::file(
                None,
                "planning/TASK.md",
                crate::config::Validator::TaskMd,
                ds,
            )],
        }
    }

    #[test]
    fn at_most_ten_annotations_of_each_level_and_a_notice_for_the_rest() {
        let mut out = Vec::new();
        render(&many(14, 12, 10), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("::warning ")).count(),
            10
        );
        // The corrupt-file finding comes last in the report but is shown.
        assert!(text.contains("title=FILE005::"), "{text}");
        assert!(text.contains("::e0 ") && !text.contains("::e9 "), "{text}");
        assert_eq!(
            *lines.last().unwrap(),
            "::notice title=lifeline::5 errors, 2 warnings more not annotated (GitHub shows 10 errors and 10 warnings per step): every finding is in the step summary"
        );
        // Within the limits: no notice.
        let mut out = Vec::new();
        render(&many(9, 10, 10), &mut out).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("::notice"));
    }

    #[test]
    fn the_step_summary_stays_under_one_mebibyte() {
        // 200 findings of 70,000 three-byte characters would be 42 MB;
        // cut to 2,000 characters each, still 1.2 MB.
        let md = step_summary(&many(100, 99, 70_000));
        assert!(md.len() < SUMMARY_BYTES, "{}", md.len());
        assert!(md.contains("… (cut; 70004 characters)"), "cut marker");
        assert!(md.contains(" more; run `lifeline validate` to see them all\n"));
        let md = step_summary(&many(300, 0, 10));
        assert!(
            md.ends_with("- … and 101 more; run `lifeline validate` to see them all\n"),
            "{}",
            &md[md.len() - 200..]
        );
    }

    #[test]
    fn warnings_and_multi_line_spans() {
        let src = crate::validate::diagnostic::Source::new("a.md", "one\ntwo\n".to_string());
        let d = src.diag(Rule::TaskNoOwner, 0, 6, "spans two lines");
        assert_eq!(
            command(&d),
            "::warning file=a.md,line=1,endLine=2,title=TASK019::spans two lines"
        );
    }

    #[test]
    fn text_from_a_file_cannot_break_out_of_the_command() {
        assert_eq!(
            escape_data("100% done\r\n::stop::"),
            "100%25 done%0D%0A::stop::"
        );
        assert_eq!(escape_property("dir:a,b%\n/x.md"), "dir%3Aa%2Cb%25%0A/x.md");
        let d = Diagnostic::new(
            Rule::TaskBadTitle,
            "odd,name:1.md",
            "title `a\n::error::forged` is bad",
        );
        assert_eq!(
            command(&d),
            "::error file=odd%2Cname%3A1.md,title=TASK012::title `a%0A::error::forged` is bad"
        );
    }

    #[test]
    fn the_step_summary_tables_the_files_and_lists_the_findings() {
        assert_eq!(
            step_summary(&fixture::report()),
            "\
## lifeline validate

❌ validated 3 files: 3 errors

| File | Validator | Result | Errors | Warnings |
| --- | --- | --- | ---: | ---: |
| `planning/TASK.md` | task-md | ❌ invalid | 2 | 0 |
| `planning/sprint.config.json` | sprint-config | ❌ invalid | 1 | 0 |
| `.github/labels.yml` | labels | ✅ valid | 0 | 0 |

### Findings

- ❌ **TASK015** `planning/TASK.md:6:18` unknown status `Doing`
  - help: use one of Not Started, In Progress, Blocked, Review, Testing, Done
- ❌ **TASK011** `planning/TASK.md:7:3` duplicate task ID `T-002`
  - note: first defined here (line 6)
  - help: give every task its own ID, e.g. the next free one, `T-003`
- ❌ **FILE001** `planning/sprint.config.json` protected file `planning/sprint.config.json` does not exist
  - help: restore it (`lifeline restore latest-valid --only PATH`)
"
        );
    }

    #[test]
    fn a_clean_summary_has_no_findings_section() {
        let mut report = fixture::report();
        report.files.retain(|f| f.diagnostics.is_empty());
        assert_eq!(
            step_summary(&report),
            "\
## lifeline validate

✅ validated 1 file: all valid

| File | Validator | Result | Errors | Warnings |
| --- | --- | --- | ---: | ---: |
| `.github/labels.yml` | labels | ✅ valid | 0 | 0 |
"
        );
    }

    #[test]
    fn markdown_in_findings_is_escaped() {
        assert_eq!(
            inline("see `<img src=x>` and <b>[x](y)</b> | *z*"),
            r"see `<img src=x>` and \<b\>\[x\](y)\</b\> \| \*z\*"
        );
        assert_eq!(inline("odd ` tick <"), r"odd \` tick \<");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b").replace('|', "\\|"), "`a\\|b`");
    }
}

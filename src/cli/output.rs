//! How a command prints: the one `--format` type every command shares, and
//! [`Output`] (`--quiet`, colour, secrets redacted from stdout).

use std::fmt;
use std::io::Write;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::error::{Error, Result};

/// Every form lifeline prints a result in. Each command accepts the subset
/// it renders ([`formats`]), so `--help` lists only those and any other
/// value is a usage error naming the ones allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Jsonl,
    Markdown,
    Github,
    Sarif,
    Toml,
    Html,
}

impl Format {
    const ALL: [Format; 8] = [
        Format::Text,
        Format::Json,
        Format::Jsonl,
        Format::Markdown,
        Format::Github,
        Format::Sarif,
        Format::Toml,
        Format::Html,
    ];

    /// The name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Markdown => "markdown",
            Format::Github => "github",
            Format::Sarif => "sarif",
            Format::Toml => "toml",
            Format::Html => "html",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Format::Text => "for people",
            Format::Json => "one JSON document",
            Format::Jsonl => "JSON Lines: one object per line",
            Format::Markdown => "GitHub-flavoured Markdown",
            Format::Github => "GitHub Actions workflow commands (annotations)",
            Format::Sarif => "SARIF 2.1.0, for code scanning",
            Format::Toml => "lifeline.toml syntax",
            Format::Html => "one self-contained HTML page",
        }
    }

    fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The formats of most commands.
pub(super) const TEXT_JSON: &[Format] = &[Format::Text, Format::Json];

/// The `--format` value parser of a command that renders `allowed`. A
/// command that prints TOML but not text takes `text` as another name for
/// `toml` (`config show --format text`).
pub(super) fn formats(allowed: &'static [Format]) -> impl TypedValueParser<Value = Format> {
    let values = allowed.iter().map(|&f| {
        let value = PossibleValue::new(f.name());
        // Only the forms that need a word say one, so a command offering
        // just text and JSON keeps the short `[possible values: ...]`.
        let value = match f {
            Format::Jsonl | Format::Github | Format::Sarif | Format::Toml => value.help(f.help()),
            _ => value,
        };
        if f == Format::Toml && !allowed.contains(&Format::Text) {
            value.alias(Format::Text.name())
        } else {
            value
        }
    });
    PossibleValuesParser::new(values).map(move |name| match Format::from_name(&name) {
        Some(Format::Text) if !allowed.contains(&Format::Text) => Format::Toml,
        Some(format) => format,
        None => unreachable!("clap accepts only the listed names"),
    })
}

/// The first line of text a checkpoint or another input carries (an
/// operation, an actor), its control characters (an escape sequence, a
/// bidirectional override) made visible rather than sent to the terminal.
pub(crate) fn untrusted_line(text: &str) -> String {
    annotate_snippets::normalize_untrusted_str(text.lines().next().unwrap_or_default())
}

/// How the command prints: `--quiet`, colour.
pub(crate) struct Output {
    pub(crate) quiet: bool,
    pub(crate) color: bool,
}

impl Output {
    /// Writes to stdout unless quiet, secrets redacted. A closed pipe is
    /// not an error.
    pub(crate) fn print(
        &self,
        f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        if self.quiet {
            return Ok(());
        }
        let stdout = std::io::stdout();
        let mut lock = crate::redact::RedactingWriter::new(stdout.lock());
        match f(&mut lock).and_then(|()| lock.finish().map(drop)) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("<stdout>", e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn parse(allowed: &'static [Format], value: &str) -> std::result::Result<Format, String> {
        Command::new("t")
            .arg(
                Arg::new("format")
                    .long("format")
                    .value_parser(formats(allowed)),
            )
            .try_get_matches_from(["t", "--format", value])
            .map(|m| *m.get_one::<Format>("format").unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_command_takes_only_its_formats() {
        const TEXT_JSON: &[Format] = &[Format::Text, Format::Json];
        assert_eq!(parse(TEXT_JSON, "json"), Ok(Format::Json));
        let err = parse(TEXT_JSON, "sarif").unwrap_err();
        assert!(err.contains("[possible values: text, json]"), "{err}");
    }

    #[test]
    fn text_names_toml_where_text_is_not_offered() {
        const TOML_JSON: &[Format] = &[Format::Toml, Format::Json];
        assert_eq!(parse(TOML_JSON, "text"), Ok(Format::Toml));
        assert_eq!(parse(TOML_JSON, "toml"), Ok(Format::Toml));
        assert_eq!(
            parse(&[Format::Text, Format::Toml], "text"),
            Ok(Format::Text)
        );
    }

    #[test]
    fn every_name_round_trips() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
            assert_eq!(f.to_string(), f.name());
        }
    }
}

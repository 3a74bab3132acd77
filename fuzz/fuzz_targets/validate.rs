//! Feeds arbitrary bytes to the TASK.md parser and to every validator.
//!
//! The parser and the validators promise to be total: any input gives a
//! result, never a panic. libFuzzer reports any panic (including a failed
//! `debug_assert!` or an arithmetic overflow, since `cargo fuzz` builds with
//! debug assertions) as a crash. Beyond "no panic" the target checks the two
//! invariants the renderers rely on: a report's counts agree with its
//! findings, and every span lies inside the file on character boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline::config::Validator;
use lifeline::validate::diagnostic::Span;
use lifeline::validate::taskmd;
use lifeline::validate::validate_bytes;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let doc = taskmd::parse(text);
        std::hint::black_box(&doc);
    }
    for validator in Validator::ALL {
        let report = validate_bytes("fuzz/input", data, validator);
        let errors = report
            .diagnostics
            .iter()
            .filter(|d| d.level == lifeline::validate::diagnostic::Level::Error)
            .count();
        assert_eq!(report.errors, errors, "error count of {validator:?}");
        assert_eq!(report.valid, errors == 0, "validity of {validator:?}");
        let Some(source) = &report.source else {
            continue;
        };
        let text = &source.text;
        let check = |span: &Span, what: &str| {
            let end = span.byte_offset + span.byte_len;
            assert!(
                end <= text.len()
                    && text.is_char_boundary(span.byte_offset)
                    && text.is_char_boundary(end),
                "{validator:?}: {what} span {span:?} is outside the {}-byte text or splits a character",
                text.len()
            );
        };
        for d in &report.diagnostics {
            if let Some(span) = &d.span {
                check(span, d.code);
            }
            for note in &d.notes {
                if let Some(span) = &note.span {
                    check(span, d.code);
                }
            }
        }
    }
});

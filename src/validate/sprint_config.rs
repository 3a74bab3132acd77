//! The `sprint-config` validator for `planning/sprint.config.json`.
//!
//! The shape of the file (fields, types, patterns, minimums) is the JSON
//! Schema lifeline ships, `schemas/sprint.config.schema.json`, so other
//! tools can check the same thing. Its errors are mapped to rule codes by
//! keyword and field. The rules a schema cannot express — real calendar
//! dates, their order, the duration between them, the sprint number inside
//! the sprint ID, unknown and duplicate fields — are checked by hand.
//!
//! serde_json keeps no positions, so a small scanner walks the top-level
//! object once more and records the byte range of every key and value;
//! each finding points at the value it is about.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use jiff::civil::Date;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

use super::data::json_error;
use super::dates::{DateProblem, parse_date};
use super::suggest::nearest;
use crate::validate::diagnostic::{Diagnostic, Source};
use crate::validate::rules::Rule;

/// The JSON Schema (draft 2020-12) of `sprint.config.json`.
pub(crate) const SCHEMA: &str = include_str!("../../schemas/sprint.config.schema.json");

/// The eight fields, in the order the file lists them.
pub(crate) const FIELDS: [&str; 8] = [
    "sprint_id",
    "sprint_number",
    "version",
    "start_date",
    "end_date",
    "duration_days",
    "target_points",
    "last_sprint_velocity",
];

/// [`SCHEMA`], compiled once.
static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the shipped schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the shipped schema compiles")
});

/// Returns the `sprint_id` when it is a string.
pub(crate) fn check(src: &Source, out: &mut Vec<Diagnostic>) -> Option<String> {
    let value: Value = match serde_json::from_str(src.body()) {
        Ok(value) => value,
        Err(e) => {
            out.push(json_error(src, &e, Rule::SprintBadJson));
            return None;
        }
    };
    let Value::Object(object) = &value else {
        let body = src.body();
        let start = src.bom + (body.len() - body.trim_start().len());
        let end = src.bom + body.trim_end().len();
        out.push(
            src.diag(
                Rule::SprintBadJson,
                start,
                end,
                format!(
                    "sprint.config.json must be a JSON object, but it holds {}",
                    json_kind(&value)
                ),
            )
            .with_label("expected `{ ... }`")
            .with_help(format!(
                "write the eight fields ({}) inside one `{{ }}` object",
                FIELDS.join(", ")
            )),
        );
        return None;
    };
    let members = scan_object(src.body(), src.bom).unwrap_or_default();
    let ctx = Ctx::new(src, object, &members);
    ctx.duplicates(out);
    ctx.unknown_fields(out);
    let reported = ctx.schema_errors(&value, out);
    ctx.semantics(&reported, out);
    object
        .get("sprint_id")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// One `"key": value` of the top-level object, as file byte ranges.
#[derive(Debug, Clone)]
struct Member {
    key: String,
    key_range: (usize, usize),
    value_range: (usize, usize),
}

/// The top-level object's opening brace and members.
#[derive(Debug, Default)]
struct Members {
    open: usize,
    list: Vec<Member>,
}

/// Scans `body` (valid JSON holding an object) for the ranges of its
/// top-level members; offsets are shifted by `base` into file offsets.
/// `None` if the text is not what it should be.
fn scan_object(body: &str, base: usize) -> Option<Members> {
    let b = body.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let open = i;
    let mut list = Vec::new();
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(Members {
            open: open + base,
            list,
        });
    }
    loop {
        let key_end = skip_string(b, i)?;
        let key: String = serde_json::from_str(&body[i..key_end]).ok()?;
        let key_range = (i + base, key_end + base);
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let value_end = skip_value(b, i)?;
        list.push(Member {
            key,
            key_range,
            value_range: (i + base, value_end + base),
        });
        i = skip_ws(b, value_end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    Some(Members {
        open: open + base,
        list,
    })
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end of the string starting at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The end of the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// A date field's value, checked.
enum DateValue {
    /// Absent, or not a string (the schema reports that).
    Unusable,
    Bad,
    Good(Date),
}

/// Everything the checks need: the parsed object, where each field is,
/// and the values worked out so far.
struct Ctx<'a> {
    src: &'a Source,
    object: &'a Map<String, Value>,
    members: &'a Members,
    /// The last occurrence of each key (the one serde_json keeps).
    last: HashMap<&'a str, &'a Member>,
    sprint_number: Option<i64>,
    /// The number inside a well-formed `sprint_id`.
    id_number: Option<i64>,
    start: Option<Date>,
    end: Option<Date>,
}

impl<'a> Ctx<'a> {
    fn new(src: &'a Source, object: &'a Map<String, Value>, members: &'a Members) -> Self {
        let last = members.list.iter().map(|m| (m.key.as_str(), m)).collect();
        let id_number = object
            .get("sprint_id")
            .and_then(Value::as_str)
            .filter(|id| sprint_id_ok(id))
            .and_then(|id| id[7..9].parse().ok());
        let date = |field| match object.get(field).and_then(Value::as_str).map(parse_date) {
            Some(Ok(d)) => Some(d),
            _ => None,
        };
        Ctx {
            src,
            object,
            members,
            last,
            sprint_number: object.get("sprint_number").and_then(as_int),
            id_number,
            start: date("start_date"),
            end: date("end_date"),
        }
    }

    /// File byte range of `field`'s value (the object's `{` if absent).
    fn value_range(&self, field: &str) -> (usize, usize) {
        self.last
            .get(field)
            .map_or((self.members.open, self.members.open + 1), |m| {
                m.value_range
            })
    }

    /// The source text of `field`'s value.
    fn raw(&self, field: &str) -> &'a str {
        let (start, end) = self.value_range(field);
        self.src.text.get(start..end).unwrap_or_default()
    }

    /// A finding of `rule` at `field`'s value.
    fn at_value(&self, rule: Rule, field: &str, message: String) -> Diagnostic {
        let (start, end) = self.value_range(field);
        self.src.diag(rule, start, end, message)
    }

    fn note_at_value(&self, d: Diagnostic, field: &str, message: String) -> Diagnostic {
        let (start, end) = self.value_range(field);
        d.with_note(message, Some(self.src.span(start, end)))
    }

    /// Days from start_date to end_date, when both are real dates.
    fn days_between(&self) -> Option<i64> {
        let (start, end) = (self.start?, self.end?);
        start.until(end).ok().map(|span| i64::from(span.get_days()))
    }

    /// SPRINT012: a key that appears again.
    fn duplicates(&self, out: &mut Vec<Diagnostic>) {
        let mut first: HashMap<&str, &Member> = HashMap::new();
        for member in &self.members.list {
            let Some(earlier) = first.get(member.key.as_str()) else {
                first.insert(&member.key, member);
                continue;
            };
            let key = &member.key;
            let kept = self.raw(key);
            let (start, end) = member.key_range;
            let (first_start, first_end) = earlier.key_range;
            out.push(
                self.src
                    .diag(
                        Rule::SprintDuplicateKey,
                        start,
                        end,
                        format!("field `{key}` appears more than once"),
                    )
                    .with_label(format!("`{key}` again"))
                    .with_note(
                        format!("`{key}` first appears here"),
                        Some(self.src.span(first_start, first_end)),
                    )
                    .with_help(format!(
                        "delete all but one `{key}`; JSON readers silently keep the last one ({kept})"
                    )),
            );
        }
    }

    /// SPRINT011: a field that is not one of the eight.
    fn unknown_fields(&self, out: &mut Vec<Diagnostic>) {
        let mut seen = HashSet::new();
        for member in &self.members.list {
            let key = member.key.as_str();
            if FIELDS.contains(&key) || !seen.insert(key) {
                continue;
            }
            let hint = nearest(key, &FIELDS)
                .map(|f| format!("did you mean `{f}`? "))
                .unwrap_or_default();
            let (start, end) = member.key_range;
            out.push(
                self.src
                    .diag(
                        Rule::SprintUnknownField,
                        start,
                        end,
                        format!("unknown field `{key}`"),
                    )
                    .with_label("not a sprint.config.json field")
                    .with_help(format!(
                        "{hint}remove it, or check its spelling; the fields are {}",
                        FIELDS.join(", ")
                    )),
            );
        }
    }

    /// Runs the schema; pushes its findings and returns the fields they
    /// were about (the hand-written checks skip those).
    fn schema_errors(&self, value: &Value, out: &mut Vec<Diagnostic>) -> HashSet<String> {
        let mut reported = HashSet::new();
        for error in VALIDATOR.iter_errors(value) {
            let field = top_field(error.instance_path().as_str());
            let d = match error.kind() {
                ValidationErrorKind::Required { property } => {
                    let Some(name) = property.as_str() else {
                        continue;
                    };
                    reported.insert(name.to_string());
                    Some(self.missing(name))
                }
                ValidationErrorKind::Type { .. } => Some(self.wrong_type(&field)),
                ValidationErrorKind::Pattern { .. } => match field.as_str() {
                    "sprint_id" => Some(self.bad_sprint_id()),
                    "version" => Some(self.bad_version()),
                    // start_date and end_date: the date check says more.
                    _ => None,
                },
                ValidationErrorKind::Minimum { .. } => Some(self.below_minimum(&field)),
                ValidationErrorKind::Format { .. } => None,
                _ => Some(
                    self.at_value(Rule::SprintWrongType, &field, format!("`{field}`: {error}"))
                        .with_help(format!(
                            "make `{field}` match schemas/sprint.config.schema.json"
                        )),
                ),
            };
            if let Some(d) = d {
                reported.insert(field);
                out.push(d);
            }
        }
        reported
    }

    /// SPRINT002.
    fn missing(&self, field: &str) -> Diagnostic {
        let example = match field {
            "sprint_id" => match self.suggested_sprint_id() {
                Some(id) => format!("\"{id}\""),
                None => "\"Sprint-NN-YYYY\"".into(),
            },
            "sprint_number" => self
                .id_number
                .map_or("<the sprint's number>".into(), |n| n.to_string()),
            "version" => "\"v1.0.0\"".into(),
            "start_date" => self.derived_date(field).unwrap_or("\"YYYY-MM-DD\"".into()),
            "end_date" => self.derived_date(field).unwrap_or("\"YYYY-MM-DD\"".into()),
            "duration_days" => match (self.days_between(), self.start, self.end) {
                (Some(days), Some(start), Some(end)) if days >= 0 => {
                    format!("{days} ({start} to {end})")
                }
                _ => "<days from start_date to end_date>".into(),
            },
            "target_points" => "<story points planned for this sprint>".into(),
            _ => "<story points completed in the previous sprint>".into(),
        };
        let (start, end) = (self.members.open, self.members.open + 1);
        self.src
            .diag(
                Rule::SprintMissingField,
                start,
                end,
                format!("required field `{field}` is missing"),
            )
            .with_label(format!("this object has no `{field}`"))
            .with_help(format!("add \"{field}\": {example}"))
    }

    /// start_date or end_date worked out from the other and duration_days.
    fn derived_date(&self, field: &str) -> Option<String> {
        let days = self.object.get("duration_days").and_then(as_int)?;
        let span = jiff::Span::new().try_days(days).ok()?;
        let (date, from) = if field == "start_date" {
            (
                self.end?.checked_sub(span).ok()?,
                "end_date - duration_days",
            )
        } else {
            (
                self.start?.checked_add(span).ok()?,
                "start_date + duration_days",
            )
        };
        Some(format!("\"{date}\" ({from})"))
    }

    /// SPRINT003.
    fn wrong_type(&self, field: &str) -> Diagnostic {
        let value = self.object.get(field).unwrap_or(&Value::Null);
        let raw = self.raw(field);
        let integer = matches!(
            field,
            "sprint_number" | "duration_days" | "target_points" | "last_sprint_velocity"
        );
        let expected = if integer {
            "a whole number"
        } else {
            "a string"
        };
        let help = match (integer, value) {
            (true, Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                format!("remove the quotes: \"{field}\": {}", s.trim())
            }
            (true, Value::Number(n)) => match n.as_f64() {
                Some(f) => format!("use a whole number, e.g. \"{field}\": {}", f.round()),
                None => format!("use a whole number for `{field}`"),
            },
            (true, _) => format!(
                "use a whole number without quotes, e.g. \"{field}\": {}",
                example(field)
            ),
            (false, Value::Number(_)) => {
                format!("put the value in quotes: \"{field}\": \"{raw}\"")
            }
            (false, _) => format!(
                "use a quoted string, e.g. \"{field}\": \"{}\"",
                example(field)
            ),
        };
        self.at_value(
            Rule::SprintWrongType,
            field,
            format!(
                "`{field}` must be {expected}, but it is {}: {raw}",
                json_kind(value)
            ),
        )
        .with_label(format!("expected {expected}"))
        .with_help(help)
    }

    /// SPRINT004.
    fn bad_sprint_id(&self) -> Diagnostic {
        let raw = self.raw("sprint_id");
        let help = match self.suggested_sprint_id() {
            Some(id) => format!("write it as \"{id}\" (Sprint-<2-digit number>-<year>)"),
            None => {
                "write it as Sprint-<2-digit number>-<4-digit year>, e.g. \"Sprint-07-2025\"".into()
            }
        };
        self.at_value(
            Rule::SprintBadId,
            "sprint_id",
            format!("sprint_id {raw} does not match Sprint-<2 digits>-<4-digit year>"),
        )
        .with_label("expected Sprint-NN-YYYY")
        .with_help(help)
    }

    /// A well-formed sprint ID from what the file says: the number and
    /// year of a near-miss ID (`sprint-7-2025`), or sprint_number and the
    /// year of start_date.
    fn suggested_sprint_id(&self) -> Option<String> {
        let id = self.object.get("sprint_id").and_then(Value::as_str);
        if let Some(id) = id {
            let parts: Vec<&str> = id.trim().split(['-', '_', ' ']).collect();
            if let [word, number, year] = parts[..] {
                let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
                    n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
                };
                if word.eq_ignore_ascii_case("sprint")
                    && digits(number, 1..=2)
                    && digits(year, 4..=4)
                {
                    return Some(format!("Sprint-{number:0>2}-{year}"));
                }
            }
        }
        let number = self.sprint_number.filter(|n| (1..=99).contains(n))?;
        let year = self.start?.year();
        Some(format!("Sprint-{number:02}-{year:04}"))
    }

    /// SPRINT006.
    fn bad_version(&self) -> Diagnostic {
        let raw = self.raw("version");
        let version = self
            .object
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let digits = version.trim().trim_start_matches(['v', 'V']);
        let parts: Vec<&str> = digits.split('.').collect();
        let numeric = parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        let help = if numeric && parts.len() <= 3 {
            let mut parts = parts;
            parts.resize(3, "0");
            format!("write it as \"v{}\"", parts.join("."))
        } else {
            "write it as v<major>.<minor>.<patch>, e.g. \"v1.1.0\"".to_string()
        };
        self.at_value(
            Rule::SprintBadVersion,
            "version",
            format!("version {raw} does not match v<major>.<minor>.<patch>"),
        )
        .with_label("expected vX.Y.Z")
        .with_help(help)
    }

    /// SPRINT005 (sprint_number < 1), SPRINT009 (duration_days < 0),
    /// SPRINT010 (the point counts < 0).
    fn below_minimum(&self, field: &str) -> Diagnostic {
        let raw = self.raw(field);
        match field {
            "sprint_number" => self
                .at_value(
                    Rule::SprintNumberMismatch,
                    field,
                    format!("sprint_number is {raw}, but sprints are numbered from 1"),
                )
                .with_label("must be 1 or more")
                .with_help(match self.id_number {
                    Some(n) if n >= 1 => {
                        format!("set sprint_number to {n}, the number in sprint_id")
                    }
                    _ => "set sprint_number to the sprint's number (1 or more)".into(),
                }),
            "duration_days" => self
                .at_value(
                    Rule::SprintDuration,
                    field,
                    format!("duration_days is {raw}, but a duration cannot be negative"),
                )
                .with_label("must be 0 or more")
                .with_help(self.duration_help()),
            _ => {
                let what = if field == "target_points" {
                    "the story points planned for this sprint"
                } else {
                    "the story points completed in the previous sprint"
                };
                self.at_value(
                    Rule::SprintNegative,
                    field,
                    format!("{field} is {raw}, but it must be 0 or more"),
                )
                .with_label("negative")
                .with_help(format!("set {field} to {what} (a whole number, 0 or more)"))
            }
        }
    }

    fn duration_help(&self) -> String {
        match (self.days_between(), self.start, self.end) {
            (Some(days), Some(start), Some(end)) if days >= 0 => {
                format!("set duration_days to {days} ({start} to {end})")
            }
            _ => "set duration_days to the number of days from start_date to end_date".into(),
        }
    }

    /// The rules the schema cannot express; `reported` fields already
    /// have a finding.
    fn semantics(&self, reported: &HashSet<String>, out: &mut Vec<Diagnostic>) {
        let skip = |field: &str| reported.contains(field);

        // SPRINT005: the number inside sprint_id.
        if let (Some(number), Some(id_number)) = (self.sprint_number, self.id_number)
            && !skip("sprint_number")
            && !skip("sprint_id")
            && number != id_number
        {
            let id = self.raw("sprint_id");
            let d = self
                .at_value(
                    Rule::SprintNumberMismatch,
                    "sprint_number",
                    format!("sprint_number is {number}, but sprint_id {id} says sprint {id_number}"),
                )
                .with_label(format!("sprint_id says {id_number}"))
                .with_help(format!(
                    "set sprint_number to {id_number}, or correct sprint_id if this is sprint {number}"
                ));
            out.push(self.note_at_value(d, "sprint_id", "sprint_id is here".into()));
        }

        // SPRINT007: real dates.
        let mut dates = [DateValue::Unusable, DateValue::Unusable];
        for (slot, field) in dates.iter_mut().zip(["start_date", "end_date"]) {
            if skip(field) {
                continue;
            }
            let Some(text) = self.object.get(field).and_then(Value::as_str) else {
                continue;
            };
            *slot = match parse_date(text) {
                Ok(date) => DateValue::Good(date),
                Err(problem) => {
                    let raw = self.raw(field);
                    let (message, help) = match problem {
                        DateProblem::Shape => (
                            format!("{field} {raw} is not a date written YYYY-MM-DD"),
                            match loose_date(text) {
                                Some(date) => format!("write it as \"{date}\""),
                                None => "write the date as YYYY-MM-DD, e.g. \"2025-07-06\"".into(),
                            },
                        ),
                        DateProblem::Month(month) => (
                            format!("{field} {raw} is not a real date: there is no month {month}"),
                            "write a real date as YYYY-MM-DD; the month is 01 to 12".into(),
                        ),
                        DateProblem::Day {
                            year,
                            month,
                            day,
                            last,
                        } => (
                            format!(
                                "{field} {raw} is not a real date: {} {year} has {last} days",
                                MONTHS[usize::try_from(month - 1).unwrap_or(0)]
                            ),
                            format!(
                                "write a real date, e.g. \"{year:04}-{month:02}-{:02}\"",
                                day.clamp(1, last)
                            ),
                        ),
                    };
                    out.push(
                        self.at_value(Rule::SprintBadDate, field, message)
                            .with_label("not a real date")
                            .with_help(help),
                    );
                    DateValue::Bad
                }
            };
        }

        // SPRINT008 / SPRINT009: order and duration.
        let [DateValue::Good(start), DateValue::Good(end)] = dates else {
            return;
        };
        let Some(days) = self.days_between() else {
            return;
        };
        if end < start {
            let d = self
                .at_value(
                    Rule::SprintDateOrder,
                    "end_date",
                    format!("end_date {end} is before start_date {start}"),
                )
                .with_label(format!("{} days before start_date", -days))
                .with_help(format!(
                    "make end_date {start} or later (if the two dates are swapped, swap them back)"
                ));
            out.push(self.note_at_value(d, "start_date", "start_date is here".into()));
            return;
        }
        if skip("duration_days") {
            return;
        }
        if let Some(duration) = self.object.get("duration_days").and_then(as_int)
            && duration != days
        {
            out.push(
                self.at_value(
                    Rule::SprintDuration,
                    "duration_days",
                    format!("duration_days is {duration}, but {start} to {end} is {days} days"),
                )
                .with_label(format!("should be {days}"))
                .with_help(format!("set duration_days to {days} ({start} to {end})")),
            );
        }
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A real date written loosely (`2025-7-6`, `2025/07/06`), for a help.
fn loose_date(text: &str) -> Option<Date> {
    let parts: Vec<&str> = text.trim().split(['-', '/', '.']).collect();
    let [year, month, day] = parts[..] else {
        return None;
    };
    if year.len() != 4 {
        return None;
    }
    Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()
}

/// A well-formed `Sprint-NN-YYYY`.
fn sprint_id_ok(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 14
        && id.starts_with("Sprint-")
        && b[9] == b'-'
        && b[7..9].iter().chain(&b[10..]).all(u8::is_ascii_digit)
}

/// An integer as JSON Schema counts them (`7` and `7.0`).
fn as_int(value: &Value) -> Option<i64> {
    let n = value.as_number()?;
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        // The cast saturates; a value that large is wrong anyway.
        (f.fract() == 0.0).then_some(f as i64)
    })
}

/// The first segment of a JSON pointer, unescaped.
fn top_field(pointer: &str) -> String {
    pointer
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .replace("~1", "/")
        .replace("~0", "~")
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An example value of `field`, for helps.
fn example(field: &str) -> &'static str {
    match field {
        "sprint_id" => "Sprint-07-2025",
        "sprint_number" => "7",
        "version" => "v1.1.0",
        "start_date" => "2025-07-06",
        "end_date" => "2025-07-20",
        "duration_days" => "14",
        "target_points" => "20",
        _ => "21",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::diagnostic::Level;

    const HEALTHY: &str =
        include_str!("../../tests/fixtures/sample-repo/planning/sprint.config.json");
    const BAD_DATES: &str =
        include_str!("../../tests/fixtures/corrupt/sprint.config.bad-dates.json");
    const BAD_JSON: &str = include_str!("../../tests/fixtures/corrupt/sprint.config.bad-json.json");

    fn run(text: &str) -> (Vec<Diagnostic>, Option<String>) {
        let mut out = Vec::new();
        let src = Source::new("planning/sprint.config.json", text.to_string());
        let id = check(&src, &mut out);
        out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        (out, id)
    }

    /// The healthy file with the line holding `field` replaced by `line`
    /// (or removed when `line` is empty).
    fn healthy_with(field: &str, line: &str) -> String {
        HEALTHY
            .lines()
            .filter_map(|l| {
                if l.contains(&format!("\"{field}\"")) {
                    (!line.is_empty()).then(|| line.to_string())
                } else {
                    Some(l.to_string())
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn at(d: &Diagnostic) -> (&str, Level, usize, usize) {
        let span = d.span.expect("a span");
        (d.code, d.level, span.line, span.column)
    }

    fn only(text: &str) -> Diagnostic {
        let (out, _) = run(text);
        assert_eq!(out.len(), 1, "{out:#?}");
        out.into_iter().next().unwrap()
    }

    #[test]
    fn schema_compiles_and_lists_the_fields() {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, FIELDS);
        let properties: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(properties, FIELDS);
        assert!(VALIDATOR.is_valid(&serde_json::from_str(HEALTHY).unwrap()));
    }

    #[test]
    fn healthy_file_passes() {
        assert_eq!(run(HEALTHY), (vec![], Some("Sprint-07-2025".to_string())));
    }

    #[test]
    fn healthy_file_with_bom_and_crlf_passes() {
        let text = format!("\u{feff}{}", HEALTHY.replace('\n', "\r\n"));
        assert_eq!(run(&text), (vec![], Some("Sprint-07-2025".to_string())));
    }

    #[test]
    fn bad_dates_fixture() {
        let (out, id) = run(BAD_DATES);
        assert_eq!(id.as_deref(), Some("Sprint-07-2025"));
        let got: Vec<_> = out.iter().map(at).collect();
        assert_eq!(
            got,
            vec![
                ("SPRINT005", Level::Error, 3, 20),
                ("SPRINT006", Level::Error, 4, 14),
                ("SPRINT008", Level::Error, 6, 15),
                ("SPRINT010", Level::Error, 8, 20),
            ],
            "{out:#?}"
        );
        assert_eq!(
            out[0].message,
            "sprint_number is 8, but sprint_id \"Sprint-07-2025\" says sprint 7"
        );
        assert_eq!(
            out[0].help.as_deref(),
            Some("set sprint_number to 7, or correct sprint_id if this is sprint 8")
        );
        let note = out[0].notes[0].span.unwrap();
        assert_eq!((note.line, note.column), (2, 16));
        assert_eq!(
            out[1].message,
            "version \"1.1\" does not match v<major>.<minor>.<patch>"
        );
        assert_eq!(out[1].help.as_deref(), Some("write it as \"v1.1.0\""));
        assert_eq!(
            out[2].message,
            "end_date 2025-07-06 is before start_date 2025-07-20"
        );
        let note = out[2].notes[0].span.unwrap();
        assert_eq!((note.line, note.column), (5, 17));
        assert_eq!(
            out[3].message,
            "target_points is -3, but it must be 0 or more"
        );
    }

    #[test]
    fn sprint001_bad_json_fixture() {
        let (out, id) = run(BAD_JSON);
        assert_eq!(id, None);
        assert_eq!(out.len(), 1);
        assert_eq!(at(&out[0]), ("SPRINT001", Level::Error, 7, 3));
        assert_eq!(out[0].message, "invalid JSON: expected `,` or `}`");
        assert!(
            out[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("add a `,` at the end of line 6")
        );
    }

    #[test]
    fn sprint001_bad_json_after_bom_and_crlf() {
        let text = format!("\u{feff}{}", BAD_JSON.replace('\n', "\r\n"));
        let (out, _) = run(&text);
        assert_eq!(at(&out[0]), ("SPRINT001", Level::Error, 7, 3));
    }

    #[test]
    fn sprint001_not_an_object() {
        let d = only("\n  [1, 2]\n");
        assert_eq!(at(&d), ("SPRINT001", Level::Error, 2, 3));
        assert_eq!(
            d.message,
            "sprint.config.json must be a JSON object, but it holds an array"
        );
    }

    #[test]
    fn sprint002_missing_field() {
        let d = only(&healthy_with("duration_days", ""));
        assert_eq!(at(&d), ("SPRINT002", Level::Error, 1, 1));
        assert_eq!(d.message, "required field `duration_days` is missing");
        assert_eq!(
            d.help.as_deref(),
            Some("add \"duration_days\": 14 (2025-07-06 to 2025-07-20)")
        );
    }

    #[test]
    fn sprint002_missing_end_date_is_derived() {
        let d = only(&healthy_with("end_date", ""));
        assert_eq!(at(&d), ("SPRINT002", Level::Error, 1, 1));
        assert_eq!(
            d.help.as_deref(),
            Some("add \"end_date\": \"2025-07-20\" (start_date + duration_days)")
        );
    }

    #[test]
    fn sprint003_wrong_type() {
        let d = only(&healthy_with(
            "sprint_number",
            "  \"sprint_number\": \"7\",",
        ));
        assert_eq!(at(&d), ("SPRINT003", Level::Error, 3, 20));
        assert_eq!(
            d.message,
            "`sprint_number` must be a whole number, but it is a string: \"7\""
        );
        assert_eq!(
            d.help.as_deref(),
            Some("remove the quotes: \"sprint_number\": 7")
        );

        let d = only(&healthy_with("version", "  \"version\": 1.1,"));
        assert_eq!(at(&d), ("SPRINT003", Level::Error, 4, 14));
        assert_eq!(
            d.message,
            "`version` must be a string, but it is a number: 1.1"
        );

        let d = only(&healthy_with("target_points", "  \"target_points\": 2.5,"));
        assert_eq!(at(&d), ("SPRINT003", Level::Error, 8, 20));
    }

    #[test]
    fn whole_float_counts_as_an_integer() {
        let (out, _) = run(&healthy_with("target_points", "  \"target_points\": 20.0,"));
        assert_eq!(out, vec![]);
    }

    #[test]
    fn sprint004_bad_sprint_id() {
        let (out, id) = run(&healthy_with(
            "sprint_id",
            "  \"sprint_id\": \"Sprint-7-2025\",",
        ));
        assert_eq!(id.as_deref(), Some("Sprint-7-2025"));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(at(&out[0]), ("SPRINT004", Level::Error, 2, 16));
        assert_eq!(
            out[0].message,
            "sprint_id \"Sprint-7-2025\" does not match Sprint-<2 digits>-<4-digit year>"
        );
        assert_eq!(
            out[0].help.as_deref(),
            Some("write it as \"Sprint-07-2025\" (Sprint-<2-digit number>-<year>)")
        );
    }

    #[test]
    fn sprint005_sprint_number_below_one() {
        let d = only(
            &healthy_with("sprint_number", "  \"sprint_number\": 0,")
                .replace("Sprint-07", "Sprint-00"),
        );
        assert_eq!(at(&d), ("SPRINT005", Level::Error, 3, 20));
        assert_eq!(
            d.message,
            "sprint_number is 0, but sprints are numbered from 1"
        );
    }

    #[test]
    fn sprint007_not_a_real_date() {
        let text = healthy_with("start_date", "  \"start_date\": \"2025-02-30\",");
        let d = only(&text);
        assert_eq!(at(&d), ("SPRINT007", Level::Error, 5, 17));
        assert_eq!(
            d.message,
            "start_date \"2025-02-30\" is not a real date: February 2025 has 28 days"
        );
        assert_eq!(
            d.help.as_deref(),
            Some("write a real date, e.g. \"2025-02-28\"")
        );

        let d = only(&healthy_with("end_date", "  \"end_date\": \"2025-13-01\","));
        assert_eq!(at(&d), ("SPRINT007", Level::Error, 6, 15));
        assert_eq!(
            d.message,
            "end_date \"2025-13-01\" is not a real date: there is no month 13"
        );

        let d = only(&healthy_with("end_date", "  \"end_date\": \"2025/07/20\","));
        assert_eq!(at(&d), ("SPRINT007", Level::Error, 6, 15));
        assert_eq!(
            d.message,
            "end_date \"2025/07/20\" is not a date written YYYY-MM-DD"
        );
        assert_eq!(d.help.as_deref(), Some("write it as \"2025-07-20\""));
    }

    #[test]
    fn sprint009_duration_mismatch() {
        let d = only(&healthy_with("duration_days", "  \"duration_days\": 10,"));
        assert_eq!(at(&d), ("SPRINT009", Level::Error, 7, 20));
        assert_eq!(
            d.message,
            "duration_days is 10, but 2025-07-06 to 2025-07-20 is 14 days"
        );
        assert_eq!(
            d.help.as_deref(),
            Some("set duration_days to 14 (2025-07-06 to 2025-07-20)")
        );
    }

    #[test]
    fn sprint009_negative_duration() {
        let d = only(&healthy_with("duration_days", "  \"duration_days\": -14,"));
        assert_eq!(at(&d), ("SPRINT009", Level::Error, 7, 20));
        assert_eq!(
            d.message,
            "duration_days is -14, but a duration cannot be negative"
        );
    }

    #[test]
    fn durations_count_real_calendar_days() {
        // 2024 is a leap year: 2024-02-20 to 2024-03-05 is 14 days.
        let leap = healthy_with("start_date", "  \"start_date\": \"2024-02-20\",")
            .replace("2025-07-20", "2024-03-05")
            .replace("-2025", "-2024");
        assert_eq!(run(&leap).0, vec![]);
        let d = only(&leap.replace("2024", "2025"));
        assert_eq!(at(&d), ("SPRINT009", Level::Error, 7, 20));
        assert_eq!(
            d.message,
            "duration_days is 14, but 2025-02-20 to 2025-03-05 is 13 days"
        );
    }

    #[test]
    fn sprint010_negative_points() {
        let d = only(&healthy_with(
            "last_sprint_velocity",
            "  \"last_sprint_velocity\": -1",
        ));
        assert_eq!(at(&d), ("SPRINT010", Level::Error, 9, 27));
        assert_eq!(
            d.message,
            "last_sprint_velocity is -1, but it must be 0 or more"
        );
    }

    #[test]
    fn sprint011_unknown_field_is_a_warning() {
        let text = healthy_with(
            "sprint_id",
            "  \"sprint_id\": \"Sprint-07-2025\",\n  \"spirnt_id\": \"x\",",
        );
        let d = only(&text);
        assert_eq!(at(&d), ("SPRINT011", Level::Warning, 3, 3));
        assert_eq!(d.message, "unknown field `spirnt_id`");
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `sprint_id`?")
        );
    }

    #[test]
    fn sprint012_duplicate_key() {
        let text = healthy_with(
            "end_date",
            "  \"end_date\": \"2025-07-20\",\n  \"version\": \"v1.2.0\",",
        );
        let d = only(&text);
        assert_eq!(at(&d), ("SPRINT012", Level::Error, 7, 3));
        assert_eq!(d.message, "field `version` appears more than once");
        assert_eq!(
            d.help.as_deref(),
            Some(
                "delete all but one `version`; JSON readers silently keep the last one (\"v1.2.0\")"
            )
        );
        let note = d.notes[0].span.unwrap();
        assert_eq!((note.line, note.column), (4, 3));
    }

    #[test]
    fn positions_with_bom_and_crlf() {
        let text = format!(
            "\u{feff}{}",
            healthy_with("duration_days", "  \"duration_days\": 10,").replace('\n', "\r\n")
        );
        let d = only(&text);
        assert_eq!(at(&d), ("SPRINT009", Level::Error, 7, 20));
        let span = d.span.unwrap();
        assert_eq!(&text[span.byte_offset..][..span.byte_len], "10");

        let text = format!(
            "\u{feff}{}",
            healthy_with("version", "").replace('\n', "\r\n")
        );
        let d = only(&text);
        assert_eq!(at(&d), ("SPRINT002", Level::Error, 1, 1));
        assert_eq!(d.span.unwrap().byte_offset, 3);
    }

    #[test]
    fn scanner_handles_nesting_escapes_and_bom() {
        let text = "\u{feff}{\"a\\\"b\": {\"x\": [1, \"}\"]}, \"é\" : -1.5e3 ,\"c\":null}";
        let members = scan_object(&text[3..], 3).unwrap();
        let keys: Vec<_> = members.list.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["a\"b", "é", "c"]);
        let slice = |(s, e): (usize, usize)| &text[s..e];
        assert_eq!(slice(members.list[0].value_range), "{\"x\": [1, \"}\"]}");
        assert_eq!(slice(members.list[1].value_range), "-1.5e3");
        assert_eq!(slice(members.list[2].key_range), "\"c\"");
        assert_eq!(members.open, 3);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let mut out = Vec::new();
            check(&Source::new("x", text), &mut out);
        }

        #[test]
        fn never_panics_on_config_like_noise(
            text in "\u{feff}?\\{(\\s*\"(sprint_id|sprint_number|version|start_date|end_date|duration_days|target_points|last_sprint_velocity|x)\"\\s*:\\s*(-?[0-9]{1,3}(\\.[05])?|\"[-0-9vSprint.é]{0,14}\"|null|true|\\[\\]|\\{\\}),?)*\\s*\\}"
        ) {
            let mut out = Vec::new();
            check(&Source::new("x", text), &mut out);
        }
    }
}

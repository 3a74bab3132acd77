//! The typed view of an audit entry: every member lifeline writes, named
//! once. [`super::entry::body`] writes an entry's members through
//! [`EntryView`], and `verify`, `query`, `show` and the report read them
//! back through it, so a member cannot be written under one name and read
//! under another.
//!
//! Reading is lenient, as a reader of a log others may have edited must
//! be: a member that is missing or of the wrong type reads as absent
//! (`None`, empty), and the verifier decides what that means. The view is
//! never hashed: the chain hash is over the canonical form of the entry as
//! stored ([`super::canonical`]).

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::Outcome;
use crate::ci::WorkflowRun;

/// One audit entry, typed. The body members (`schema` ... `environment`)
/// come from [`super::entry::body`]; the chain members (`seq`, `prev`,
/// `joins`, `hash`) from the store's append.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EntryView {
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub schema: Option<u64>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub audit_id: Option<String>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// UTC, RFC 3339 with microseconds.
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub result: Option<Outcome>,
    #[serde(deserialize_with = "lenient_or_default")]
    pub details: Map<String, Value>,
    /// Repo-relative paths; members that are not strings are left out.
    #[serde(deserialize_with = "strings")]
    pub files_affected: Vec<String>,
    /// Path → SHA-256 (hex), or null for a file that did not exist.
    #[serde(deserialize_with = "lenient_or_default")]
    pub file_checksums: Map<String, Value>,
    #[serde(deserialize_with = "lenient_or_default")]
    pub metadata: Map<String, Value>,
    #[serde(deserialize_with = "object_or_default")]
    pub environment: Environment,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The hash of the entry before it; null for the first entry.
    #[serde(skip_serializing_if = "Field::is_missing")]
    pub prev: Field<String>,
    /// The other heads a seal joins.
    #[serde(skip_serializing_if = "Field::is_missing")]
    pub joins: Field<Vec<Field<String>>>,
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// Where the operation ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Environment {
    #[serde(deserialize_with = "lenient")]
    pub git_commit: Option<String>,
    /// The GitHub Actions run, or null.
    #[serde(deserialize_with = "lenient")]
    pub workflow_run: Option<WorkflowRun>,
    /// `github:NAME`, `git:NAME` or `user:NAME`.
    #[serde(deserialize_with = "lenient")]
    pub actor: Option<String>,
}

impl EntryView {
    /// The view of one stored line (lenient, see the module docs; a JSON
    /// text that is not an object reads as all absent); `None` when the
    /// line is not JSON at all.
    pub fn parse(line: &str) -> Option<EntryView> {
        // Only an object is read member by member (serde would also fill
        // a struct from an array, by position).
        let object = line
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{');
        match object.then(|| serde_json::from_str(line).ok()).flatten() {
            Some(view) => Some(view),
            None => serde_json::from_str::<serde::de::IgnoredAny>(line)
                .ok()
                .map(|_| EntryView::default()),
        }
    }

    /// The view of an entry already parsed (a JSON object; anything else
    /// reads as all absent).
    pub fn of(entry: &Value) -> EntryView {
        match entry {
            Value::Object(_) => EntryView::deserialize(entry).unwrap_or_default(),
            _ => EntryView::default(),
        }
    }
}

/// A member that may be missing, null, of another type, or a `T`: what the
/// verifier needs to tell apart for the chain members.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    #[default]
    Missing,
    Null,
    /// Present, but not a `T`.
    Other,
    Is(T),
}

impl<T> Field<T> {
    pub fn is_missing(&self) -> bool {
        matches!(self, Field::Missing)
    }

    pub fn get(&self) -> Option<&T> {
        match self {
            Field::Is(t) => Some(t),
            _ => None,
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Field::Null,
            v => serde_json::from_value(v).map_or(Field::Other, Field::Is),
        })
    }
}

impl<T: Serialize> Serialize for Field<T> {
    /// A `T` as itself; anything else as null (only reading yields
    /// `Other`, and `Missing` is skipped).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Is(t) => t.serialize(s),
            _ => s.serialize_none(),
        }
    }
}

/// A `T`, or `None` when the member is null or of another type.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// A `T`, or its default when the member is null or of another type.
fn lenient_or_default<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(lenient(d)?.unwrap_or_default())
}

/// A struct read from an object, or its default for anything else.
fn object_or_default<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v).unwrap_or_default(),
        _ => T::default(),
    })
}

/// The string members of an array (nothing when it is not one).
fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::entry::{self, Context};
    use crate::audit::{Event, Log};

    /// What the writer writes, the view reads back under the same names:
    /// every body member and every chain member (a seal's `joins` too).
    #[test]
    fn every_member_written_reads_back_through_the_view() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("audit")).unwrap();
        let log = Log::at(dir.path().join("audit"));
        let ctx = Context::new("SES-test", "user:alice");
        let event = Event::new("task-sync", "sync")
            .detail("changes", 3)
            .file("planning/TASK.md")
            .failure("boom");
        let now = jiff::Timestamp::now();
        let first = entry::body(dir.path(), &ctx, &event, now).unwrap();
        let second = entry::body(dir.path(), &ctx, &Event::new("audit", "seal"), now).unwrap();
        let a = log.append(vec![first], None).unwrap().pop().unwrap();
        let b = log
            .append(vec![second], Some(vec!["ab".repeat(32)]))
            .unwrap()
            .pop()
            .unwrap();
        let month = std::fs::read_dir(&log.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .unwrap();
        let text = std::fs::read_to_string(month).unwrap();
        let views: Vec<EntryView> = text.lines().map(|l| EntryView::parse(l).unwrap()).collect();
        let [x, y] = &views[..] else {
            panic!("two entries: {text}")
        };
        assert_eq!(x.schema, Some(entry::SCHEMA));
        assert_eq!(x.audit_id.as_deref(), Some(a.audit_id.as_str()));
        assert_eq!(x.session_id.as_deref(), Some("SES-test"));
        assert_eq!(x.timestamp, Some(entry::timestamp(now)));
        assert_eq!(x.component.as_deref(), Some("task-sync"));
        assert_eq!(x.operation.as_deref(), Some("sync"));
        assert_eq!(x.result, Some(Outcome::Failure));
        assert_eq!(x.details["error_message"], "boom");
        assert_eq!(x.details["context"]["changes"], 3);
        assert_eq!(x.files_affected, ["planning/TASK.md"]);
        assert_eq!(x.file_checksums["planning/TASK.md"], Value::Null);
        assert_eq!(x.metadata["requires_investigation"], true);
        assert_eq!(x.environment.actor.as_deref(), Some("user:alice"));
        assert_eq!(x.seq, Some(1));
        assert_eq!(x.prev, Field::Null);
        assert!(x.joins.is_missing());
        assert_eq!(x.hash.as_deref(), Some(a.hash.as_str()));
        assert_eq!(y.seq, Some(2));
        assert_eq!(y.prev, Field::Is(a.hash.clone()));
        assert_eq!(y.joins, Field::Is(vec![Field::Is("ab".repeat(32))]));
        assert_eq!(y.hash.as_deref(), Some(b.hash.as_str()));
    }

    #[test]
    fn members_of_another_type_read_as_absent() {
        let v = EntryView::parse(
            r#"{"audit_id": 7, "result": "maybe", "files_affected": ["a", 1], "prev": 3, "details": []}"#,
        )
        .unwrap();
        assert_eq!(v.audit_id, None);
        assert_eq!(v.result, None);
        assert_eq!(v.files_affected, ["a"]);
        assert_eq!(v.prev, Field::Other);
        assert!(v.details.is_empty());
        assert_eq!(EntryView::parse("[1]"), Some(EntryView::default()));
        assert_eq!(EntryView::of(&serde_json::json!([1])), EntryView::default());
        let v = EntryView::parse(r#"{"environment": ["git:x"]}"#).unwrap();
        assert_eq!(v.environment, Environment::default());
        assert_eq!(EntryView::parse("{\"audit_id\": "), None);
    }
}

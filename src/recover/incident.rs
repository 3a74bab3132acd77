//! Incident records: `docs/incidents/INC-<UTC time>-<suffix>.md`.
//!
//! Each record is Markdown with machine-readable front matter (status,
//! times, runbook, outcome, what was disabled) and the plan's header, then
//! a timeline. Every step rewrites the file atomically, so a crash in the
//! middle of a runbook leaves a record that shows where it stopped.
//!
//! The front matter is [`FrontMatter`] through serde: YAML whose every
//! scalar is written as a JSON string or `null` (JSON is a subset of
//! YAML), so no value can break it.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::config::Severity;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// Where incident records live, relative to the root.
pub const DIR: &str = "docs/incidents";

/// How a workflow was disabled, so `recover resume` can undo exactly that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disabled {
    /// The workflow file name (`task-sync.yml`).
    pub workflow: String,
    /// `api` (PUT …/disable) or `rename` (moved to `*.yml.disabled`).
    pub how: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub at: Timestamp,
    pub text: String,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub id: String,
    /// `open` or `resolved`.
    pub status: String,
    pub severity: Severity,
    /// The runbook / recovery type.
    #[serde(rename = "type")]
    pub kind: String,
    pub operator: String,
    pub checkpoint: Option<String>,
    /// When the problem was detected (the finding or alert that reported
    /// it), when known; `null` in the record otherwise. Never the moment
    /// the runbook opened: that is `started_at`.
    pub detected_at: Option<Timestamp>,
    pub started_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// `recovered`, `failed`, `stopped`, or none while running.
    pub outcome: Option<String>,
    pub disabled: Vec<Disabled>,
    /// Files the runbook changed (repo-relative).
    pub changed: Vec<String>,
    pub timeline: Vec<Step>,
    pub notes: Vec<Step>,
}

/// The record's front matter, in the order it is written: what tools
/// read (the timeline and notes are the Markdown below it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FrontMatter {
    id: String,
    status: String,
    #[serde(deserialize_with = "severity_of")]
    severity: Severity,
    #[serde(rename = "type")]
    kind: String,
    /// `type` again, under the plan's name; written, never read back.
    #[serde(default, skip_deserializing)]
    runbook: String,
    operator: String,
    #[serde(default, deserialize_with = "or_unknown")]
    checkpoint: Option<String>,
    #[serde(default, deserialize_with = "or_unknown")]
    detected_at: Option<Timestamp>,
    started_at: Timestamp,
    #[serde(default, deserialize_with = "or_unknown")]
    resolved_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "or_unknown")]
    outcome: Option<String>,
    #[serde(default, deserialize_with = "readable_items")]
    disabled: Vec<Disabled>,
    #[serde(default, deserialize_with = "readable_items")]
    changed: Vec<String>,
}

impl FrontMatter {
    fn of(i: &Incident) -> FrontMatter {
        FrontMatter {
            id: i.id.clone(),
            status: i.status.clone(),
            severity: i.severity,
            kind: i.kind.clone(),
            runbook: i.kind.clone(),
            operator: i.operator.clone(),
            checkpoint: i.checkpoint.clone(),
            detected_at: i.detected_at,
            started_at: i.started_at,
            resolved_at: i.resolved_at,
            outcome: i.outcome.clone(),
            disabled: i.disabled.clone(),
            changed: i.changed.clone(),
        }
    }

    fn into_incident(self, timeline: Vec<Step>, notes: Vec<Step>) -> Incident {
        Incident {
            id: self.id,
            status: self.status,
            severity: self.severity,
            kind: self.kind,
            operator: self.operator,
            checkpoint: self.checkpoint,
            detected_at: self.detected_at,
            started_at: self.started_at,
            resolved_at: self.resolved_at,
            outcome: self.outcome,
            disabled: self.disabled,
            changed: self.changed,
            timeline,
            notes,
        }
    }
}

/// An optional field that a hand edit damaged (a detection time `[1, 2]`,
/// a time that cannot be read) is unknown, not a reason to refuse the
/// whole record: `report` counts it as unknown, `recover resume` still
/// finds the incident.
fn or_unknown<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// A list's readable items. An empty list is written as the key alone
/// (`changed:`), which YAML reads as null; anything else that is not a
/// list, and items of the wrong shape, are left out, as above.
fn readable_items<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// A severity as `Severity`'s `FromStr` reads it: the plan's spellings
/// (`P1-High`, `p1`) too, as records edited by hand may hold.
fn severity_of<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Severity, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

/// The front matter as YAML: a line per field, a sequence's items each on
/// a `  - ` line, every scalar and every item in JSON (an object as a YAML
/// flow mapping: `{workflow: "task-sync.yml", how: "api"}`).
fn front_matter_yaml(front: &FrontMatter) -> String {
    fn flow(v: &Value) -> String {
        match v {
            Value::Object(map) => {
                let fields: Vec<String> = map
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", flow(v)))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }
            other => other.to_string(),
        }
    }
    let fields = serde_json::to_value(front).expect("front matter serializes");
    let mut out = String::new();
    for (key, value) in fields.as_object().into_iter().flatten() {
        match value {
            Value::Array(items) => {
                out.push_str(&format!("{key}:\n"));
                for item in items {
                    out.push_str(&format!("  - {}\n", flow(item)));
                }
            }
            scalar => out.push_str(&format!("{key}: {}\n", flow(scalar))),
        }
    }
    out
}

/// A YAML node as the JSON value serde reads [`FrontMatter`] from: the
/// record's scalars are JSON strings and `null`; numbers and booleans are
/// kept for the error message of a hand-edited record.
fn yaml_to_json(node: &saphyr::Yaml) -> Value {
    use saphyr::{Scalar, Yaml};
    match node {
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Value(Scalar::Integer(n)) => Value::from(*n),
        Yaml::Value(Scalar::FloatingPoint(f)) => Value::from(f.into_inner()),
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Sequence(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), yaml_to_json(v))))
                .collect(),
        ),
        Yaml::Tagged(_, inner) => yaml_to_json(inner),
        _ => Value::Null,
    }
}

impl Incident {
    /// A new incident, written to disk at once.
    pub fn open(
        ws: &Workspace,
        severity: Severity,
        kind: &str,
        operator: &str,
        checkpoint: Option<&str>,
    ) -> Result<Incident> {
        let now = Timestamp::now();
        let mut incident = Incident {
            id: new_id(now),
            status: "open".into(),
            severity,
            kind: kind.to_string(),
            operator: operator.to_string(),
            checkpoint: checkpoint.map(str::to_string),
            detected_at: None,
            started_at: now,
            resolved_at: None,
            outcome: None,
            disabled: Vec::new(),
            changed: Vec::new(),
            timeline: Vec::new(),
            notes: Vec::new(),
        };
        incident.step(
            ws,
            &format!("incident opened by {operator}: runbook `{kind}`, severity {severity}"),
        )?;
        Ok(incident)
    }

    /// The record's repo-relative path.
    pub fn rel_path(&self) -> String {
        format!("{DIR}/{}.md", self.id)
    }

    /// Appends a timeline step and saves.
    pub fn step(&mut self, ws: &Workspace, text: &str) -> Result<()> {
        self.timeline.push(Step {
            at: Timestamp::now(),
            text: crate::redact::redact(text).into_owned(),
        });
        self.save(ws)
    }

    /// Appends a note (`incident note`) and saves.
    pub fn note(&mut self, ws: &Workspace, text: &str) -> Result<()> {
        self.notes.push(Step {
            at: Timestamp::now(),
            text: crate::redact::redact(text).into_owned(),
        });
        self.save(ws)
    }

    /// Marks the incident finished with `outcome`.
    pub fn finish(&mut self, ws: &Workspace, outcome: &str, resolved: bool) -> Result<()> {
        self.outcome = Some(outcome.to_string());
        if resolved {
            self.status = "resolved".into();
            self.resolved_at = Some(Timestamp::now());
        }
        self.step(ws, &format!("runbook finished: {outcome}"))
    }

    /// Writes the record atomically, secrets redacted.
    pub fn save(&self, ws: &Workspace) -> Result<()> {
        crate::fs::atomic::write_in(
            &ws.root,
            &self.rel_path(),
            crate::redact::redact(&self.render()).as_bytes(),
            None,
        )
    }

    /// The Markdown record.
    pub fn render(&self) -> String {
        let mut out = String::from("---\n");
        out.push_str(&front_matter_yaml(&FrontMatter::of(self)));
        out.push_str("---\n\n");
        out.push_str(&format!("# 🚨 Incident {}\n\n", self.id));
        out.push_str(&format!("**Timestamp**: {}  \n", self.started_at));
        out.push_str(&format!("**Severity**: {}  \n", self.severity));
        out.push_str(&format!("**Type**: {}  \n", self.kind));
        out.push_str(&format!("**Operator**: {}  \n", self.operator));
        out.push_str(&format!(
            "**Checkpoint**: {}  \n",
            self.checkpoint.as_deref().unwrap_or("none")
        ));
        out.push_str(&format!("**Status**: {}\n\n## Timeline\n\n", self.status));
        for s in &self.timeline {
            out.push_str(&format!("- {} — {}\n", s.at, s.text.replace('\n', "\n  ")));
        }
        if !self.notes.is_empty() {
            out.push_str("\n## Notes\n\n");
            for s in &self.notes {
                out.push_str(&format!("- {} — {}\n", s.at, s.text.replace('\n', "\n  ")));
            }
        }
        out
    }

    /// Reads the record `rel` back, never through a symlink and never a
    /// FIFO or device.
    pub fn load(root: &Path, rel: &str) -> Result<Incident> {
        let path = root.join(rel);
        let bytes = crate::fs::paths::read_own(root, rel)?
            .ok_or_else(|| Error::io(&path, std::io::ErrorKind::NotFound.into()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::environment(format!("{}: not UTF-8 text", path.display()), None))?;
        parse(&text).map_err(|why| {
            Error::environment(
                format!("{}: not an incident record: {why}", path.display()),
                Some(
                    "incident records are written by `lifeline recover`; restore this one from git"
                        .into(),
                ),
            )
        })
    }

    /// Finds `id` (the file name without `.md`, or a unique prefix).
    pub fn find(ws: &Workspace, id: &str) -> Result<(PathBuf, Incident)> {
        let all = list(ws)?;
        let hits: Vec<_> = all
            .into_iter()
            .filter(|(_, i)| i.id.starts_with(id))
            .collect();
        match hits.len() {
            1 => Ok(hits.into_iter().next().expect("one")),
            0 => Err(Error::usage(
                format!("no incident `{id}` in {DIR}"),
                Some("`lifeline incident list` shows them".into()),
            )),
            n => Err(Error::usage(
                format!("`{id}` matches {n} incidents"),
                Some("give more of the ID".into()),
            )),
        }
    }
}

/// The variable a workflow sets to the moment the problem was detected
/// (the alert's or finding's time) when it starts a runbook.
pub const DETECTED_AT_ENV: &str = "LIFELINE_DETECTED_AT";

/// The detection instant from [`DETECTED_AT_ENV`]: `None` when unset; an
/// error when it is not an RFC 3339 time or lies in the future.
pub fn detected_at_from_env(env: &dyn crate::ci::Env) -> Result<Option<Timestamp>> {
    let Some(value) = env.var(DETECTED_AT_ENV) else {
        return Ok(None);
    };
    let hint = Some(format!(
        "set {DETECTED_AT_ENV} to the time the problem was detected, e.g. 2026-11-25T11:46:53Z, or leave it unset (the record then says the detection time is unknown)"
    ));
    match value.trim().parse::<Timestamp>() {
        Ok(at) if at <= Timestamp::now() => Ok(Some(at)),
        Ok(_) => Err(Error::usage(
            format!("{DETECTED_AT_ENV}={value}: a detection cannot lie in the future"),
            hint,
        )),
        Err(_) => Err(Error::usage(
            format!("{DETECTED_AT_ENV}={value}: not an RFC 3339 time"),
            hint,
        )),
    }
}

/// Every incident record, oldest first. Unreadable files are skipped.
pub fn list(ws: &Workspace) -> Result<Vec<(PathBuf, Incident)>> {
    let Some(entries) = crate::fs::paths::list_dir(&ws.root, DIR)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, _, _) in entries {
        let rel = format!("{DIR}/{name}");
        if name.starts_with("INC-")
            && name.ends_with(".md")
            && let Ok(incident) = Incident::load(&ws.root, &rel)
        {
            out.push((ws.root.join(rel), incident));
        }
    }
    out.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    Ok(out)
}

/// `INC-20261125T120700Z-4817f3a`: UTC time to the second, then the
/// millisecond and a random part, so IDs sort by time (two incidents in
/// one second included) and two processes in one millisecond still differ.
fn new_id(now: Timestamp) -> String {
    let time = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let millis = now.subsec_millisecond();
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("INC-{time}-{millis:03}{}", &random[28..])
}

fn parse(text: &str) -> std::result::Result<Incident, String> {
    use saphyr::LoadableYamlNode;
    let rest = text.strip_prefix("---\n").ok_or("no front matter")?;
    let end = rest.find("\n---\n").ok_or("front matter not closed")?;
    let docs = saphyr::Yaml::load_from_str(&rest[..end]).map_err(|e| e.to_string())?;
    let doc = docs.first().ok_or("empty front matter")?;
    let front: FrontMatter = serde_path_to_error::deserialize(yaml_to_json(doc)).map_err(|e| {
        match e.path().to_string().as_str() {
            "." => e.inner().to_string(),
            path => format!("`{path}`: {}", e.inner()),
        }
    })?;
    let body = &rest[end + 5..];
    let section = |title: &str| -> Vec<Step> {
        let Some(start) = body.find(&format!("## {title}\n")) else {
            return Vec::new();
        };
        body[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("## "))
            .filter_map(|l| l.strip_prefix("- "))
            .filter_map(|l| {
                let (at, text) = l.split_once(" — ")?;
                Some(Step {
                    at: at.parse().ok()?,
                    text: text.to_string(),
                })
            })
            .collect()
    };
    Ok(front.into_incident(section("Timeline"), section("Notes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let incident = Incident {
            id: new_id(now),
            status: "open".into(),
            severity: Severity::P1,
            kind: "sync-failure-cascade".into(),
            operator: "github:on-call \"lead\"".into(),
            checkpoint: Some("task-sync-20261125T115900Z-ab12".into()),
            detected_at: Some(now),
            started_at: now,
            resolved_at: None,
            outcome: None,
            disabled: vec![Disabled {
                workflow: "task-sync.yml".into(),
                how: "api".into(),
            }],
            changed: vec![".github/workflows/x.yml".into()],
            timeline: vec![Step {
                at: now,
                text: "disabled task-sync.yml: a — b".into(),
            }],
            notes: vec![],
        };
        assert!(incident.id.starts_with("INC-20261125T120000Z-"));
        let text = incident.render();
        assert!(text.contains("**Severity**: P1"));
        assert_eq!(parse(&text).unwrap(), incident);
    }

    /// A record written by lifeline before its front matter went through
    /// serde (`recover sync-failure-cascade` without a token, a note, then
    /// `incident resolve`).
    const EXISTING: &str =
        include_str!("../../tests/fixtures/incidents/INC-20261130T144212Z-293891f.md");

    #[test]
    fn an_existing_record_reads_back_typed_and_renders_byte_identical() {
        let incident = parse(EXISTING).unwrap();
        assert_eq!(incident.id, "INC-20261130T144212Z-293891f");
        assert_eq!(incident.status, "resolved");
        assert_eq!(incident.severity, Severity::P1);
        assert_eq!(incident.kind, "sync-failure-cascade");
        assert_eq!(incident.checkpoint, None);
        assert_eq!(
            incident.detected_at,
            Some("2026-11-30T14:00:00Z".parse().unwrap())
        );
        assert!(incident.resolved_at.is_some());
        assert_eq!(incident.outcome.as_deref(), Some("recovered"));
        assert_eq!(
            incident.disabled,
            [Disabled {
                workflow: "task-sync.yml".into(),
                how: "rename".into(),
            }]
        );
        assert_eq!(incident.changed.len(), 2);
        assert_eq!(incident.timeline.len(), 7);
        assert_eq!(incident.notes[0].text, "paged \"lead\"; see #12 — ok");
        assert_eq!(incident.render(), EXISTING);
    }

    #[test]
    fn empty_lists_are_the_key_alone_both_ways() {
        let start = EXISTING.find("disabled:\n").unwrap();
        let end = EXISTING.find("---\n\n").unwrap();
        let edited = format!(
            "{}disabled:\nchanged:\n{}",
            &EXISTING[..start],
            &EXISTING[end..]
        );
        let incident = parse(&edited).unwrap();
        assert!(incident.disabled.is_empty() && incident.changed.is_empty());
        assert_eq!(incident.render(), edited);
    }

    #[test]
    fn damaged_optional_fields_and_items_are_unknown_not_a_refusal() {
        let edited = EXISTING
            .replace(
                "detected_at: \"2026-11-30T14:00:00Z\"",
                "detected_at: [1, 2]",
            )
            .replace("outcome: \"recovered\"", "outcome: {a: 1}")
            .replace(
                "  - \".github/workflows/task-sync.yml\"\n",
                "  - 7\n  - {x: 1}\n",
            );
        let incident = parse(&edited).unwrap();
        assert_eq!(incident.detected_at, None);
        assert_eq!(incident.outcome, None);
        assert_eq!(
            incident.changed,
            [".github/workflows/task-sync.yml.disabled"]
        );
    }

    #[test]
    fn a_hand_edited_severity_in_the_plans_spelling_is_read() {
        let edited = EXISTING.replace("severity: \"P1\"", "severity: P1-High");
        assert_eq!(parse(&edited).unwrap().severity, Severity::P1);
    }

    #[test]
    fn a_damaged_field_is_named() {
        let edited = EXISTING.replace(
            "started_at: \"2026-11-30T14:42:12.293930994Z\"",
            "started_at: yesterday",
        );
        let err = parse(&edited).unwrap_err();
        assert!(err.starts_with("`started_at`: "), "{err}");
        let edited = EXISTING.replace("id: \"INC-20261130T144212Z-293891f\"\n", "");
        let err = parse(&edited).unwrap_err();
        assert!(err.contains("missing field `id`"), "{err}");
    }

    #[test]
    fn ids_sort_by_time_within_one_second() {
        let base: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let ids: Vec<String> = [999, 5, 120, 0]
            .iter()
            .map(|ms| new_id(base + jiff::SignedDuration::from_millis(*ms)))
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec![
                ids[3].clone(),
                ids[1].clone(),
                ids[2].clone(),
                ids[0].clone()
            ]
        );
        assert_ne!(new_id(base), new_id(base));
    }
}

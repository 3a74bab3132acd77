//! Incident records: `docs/incidents/INC-<UTC time>-<suffix>.md`.
//!
//! Each record is Markdown with machine-readable front matter (status,
//! times, runbook, outcome, what was disabled) and the plan's header, then
//! a timeline. Every step rewrites the file atomically, so a crash in the
//! middle of a runbook leaves a record that shows where it stopped.
//!
//! The front matter is YAML whose every scalar is written as a JSON string
//! or number (JSON is a subset of YAML), so no value can break it.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use crate::config::Severity;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// Where incident records live, relative to the root.
pub const DIR: &str = "docs/incidents";

/// How a workflow was disabled, so `recover resume` can undo exactly that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
        crate::atomic::write_in(
            &ws.root,
            &self.rel_path(),
            crate::redact::redact(&self.render()).as_bytes(),
            None,
        )
    }

    /// The Markdown record.
    pub fn render(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("string serializes");
        let t = |t: &Timestamp| q(&t.to_string());
        let opt = |o: Option<String>| o.map_or("null".to_string(), |s| q(&s));
        let mut out = String::from("---\n");
        out.push_str(&format!("id: {}\n", q(&self.id)));
        out.push_str(&format!("status: {}\n", q(&self.status)));
        out.push_str(&format!("severity: {}\n", q(self.severity.as_str())));
        out.push_str(&format!("type: {}\n", q(&self.kind)));
        out.push_str(&format!("runbook: {}\n", q(&self.kind)));
        out.push_str(&format!("operator: {}\n", q(&self.operator)));
        out.push_str(&format!("checkpoint: {}\n", opt(self.checkpoint.clone())));
        out.push_str(&format!(
            "detected_at: {}\n",
            opt(self.detected_at.map(|d| d.to_string()))
        ));
        out.push_str(&format!("started_at: {}\n", t(&self.started_at)));
        out.push_str(&format!(
            "resolved_at: {}\n",
            opt(self.resolved_at.map(|r| r.to_string()))
        ));
        out.push_str(&format!("outcome: {}\n", opt(self.outcome.clone())));
        out.push_str("disabled:\n");
        for d in &self.disabled {
            out.push_str(&format!(
                "  - {{workflow: {}, how: {}}}\n",
                q(&d.workflow),
                q(&d.how)
            ));
        }
        out.push_str("changed:\n");
        for c in &self.changed {
            out.push_str(&format!("  - {}\n", q(c)));
        }
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
        let bytes = crate::paths::read_own(root, rel)?
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
    let Some(entries) = crate::paths::list_dir(&ws.root, DIR)? else {
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
    let s = |k: &str| {
        doc.as_mapping_get(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let ts = |k: &str| s(k).and_then(|v| v.parse::<Timestamp>().ok());
    let req = |k: &str| s(k).ok_or(format!("`{k}` missing"));
    let disabled = doc
        .as_mapping_get("disabled")
        .and_then(|d| d.as_sequence())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some(Disabled {
                        workflow: i.as_mapping_get("workflow")?.as_str()?.to_string(),
                        how: i.as_mapping_get("how")?.as_str()?.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let changed = doc
        .as_mapping_get("changed")
        .and_then(|d| d.as_sequence())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
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
    Ok(Incident {
        id: req("id")?,
        status: req("status")?,
        severity: req("severity")?.parse()?,
        kind: req("type")?,
        operator: req("operator")?,
        checkpoint: s("checkpoint"),
        detected_at: ts("detected_at"),
        started_at: ts("started_at").ok_or("`started_at` missing")?,
        resolved_at: ts("resolved_at"),
        outcome: s("outcome"),
        disabled,
        changed,
        timeline: section("Timeline"),
        notes: section("Notes"),
    })
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

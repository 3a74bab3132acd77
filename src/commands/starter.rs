//! The planning files `lifeline init --starter` writes for a repository
//! that has none: a TASK.md, a sprint.config.json and a labels.yml for the
//! current two-week sprint, each valid against its validator.

use jiff::civil::{Date, Weekday};

/// The three files, as text.
pub struct StarterFiles {
    pub task_md: String,
    pub sprint_config: String,
    pub labels: String,
}

/// Sprints last two weeks and start on a Monday.
const SPRINT_DAYS: i64 = 14;

/// The starter files for the sprint `today` falls in: it starts on the
/// Monday of this week and is numbered by the two-week periods of its
/// year (`Sprint-01-2026` from the first Monday in January).
pub fn files(today: Date) -> StarterFiles {
    let back = i64::from(today.weekday().since(Weekday::Monday));
    let start = today
        .checked_sub(jiff::Span::new().days(back))
        .unwrap_or(today);
    let end = start
        .checked_add(jiff::Span::new().days(SPRINT_DAYS))
        .unwrap_or(start);
    let number = (i64::from(start.day_of_year()) - 1) / SPRINT_DAYS + 1;
    let year = start.year();
    let sprint_id = format!("Sprint-{number:02}-{year}");
    let task_md = format!(
        "\
# 📋 TASK MANAGEMENT – {sprint_id}

> **File Version**: TASK-v1.0.0.md (written by `lifeline init --starter`)

**Sprint ID**: {sprint_id}
**Sprint**: {number} ({start} to {end})
**Last Updated**: {start} 00:00 UTC
**Sprint Goal**: Describe the sprint's objective here

## 📜 DOCUMENT CHANGELOG
<!-- changelog-insert-point -->
- **v1.0.0** ({start}) – Sprint file created by `lifeline init --starter`

---

## 🧩 CURRENT SPRINT TASKS

**Sprint Status Summary**: ✅ Completed: 0 | 🔄 In Progress: 0 | 🚫 Blocked: 0 | 📋 Not Started: 1 | **Total: 1**

| ID | Title | Description | Priority | Points | Status | Reviewed | Owner | PR Link | ETA | Depends On | Sprint ID | Notes |
|----|-------|-------------|----------|--------|--------|----------|-------|---------|-----|------------|-----------|-------|
| T-001 | Plan the sprint | Replace this row with the sprint's tasks | Medium | 1 | Not Started | ✖️ | - | - | {end} | - | {sprint_id} | Written by lifeline init --starter |
"
    );
    let sprint_config = format!(
        "\
{{
  \"sprint_id\": \"{sprint_id}\",
  \"sprint_number\": {number},
  \"version\": \"v1.0.0\",
  \"start_date\": \"{start}\",
  \"end_date\": \"{end}\",
  \"duration_days\": {SPRINT_DAYS},
  \"target_points\": 0,
  \"last_sprint_velocity\": 0
}}
"
    );
    let month = start.strftime("%B %Y");
    let labels = format!(
        "\
# Priority labels
- name: \"priority/critical\"
  color: \"d73a4a\"
  description: \"Production issue, security vulnerability\"
- name: \"priority/high\"
  color: \"d93f0b\"
  description: \"Sprint goal dependency, user-facing feature\"
- name: \"priority/medium\"
  color: \"fbca04\"
  description: \"Important but not sprint-critical\"
- name: \"priority/low\"
  color: \"0e8a16\"
  description: \"Nice-to-have, technical debt, documentation\"

# Type labels
- name: \"type/feature\"
  color: \"1d76db\"
  description: \"New feature development\"
- name: \"type/bug\"
  color: \"d73a4a\"
  description: \"Bug fixes and hotfixes\"

# Status labels
- name: \"status/not-started\"
  color: \"ffffff\"
  description: \"Ready to begin\"
- name: \"status/in-progress\"
  color: \"0052cc\"
  description: \"Actively being worked on\"
- name: \"status/blocked\"
  color: \"d73a4a\"
  description: \"Waiting for external dependency\"
- name: \"status/review\"
  color: \"0e8a16\"
  description: \"Code complete, awaiting peer review\"
- name: \"status/testing\"
  color: \"fbca04\"
  description: \"In QA or integration testing\"

# Sprint label
- name: \"sprint/{sprint_id}\"
  color: \"c2e0c6\"
  description: \"Sprint {number:02} {month}\"
"
    );
    StarterFiles {
        task_md,
        sprint_config,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Validator;
    use crate::validate::validate_bytes;

    /// Valid with no finding at all, whatever the day of the year.
    #[test]
    fn starter_files_are_valid_on_any_day() {
        let mut day = jiff::civil::date(2026, 1, 1);
        while day.year() < 2028 {
            let f = files(day);
            for (path, text, validator) in [
                ("planning/TASK.md", &f.task_md, Validator::TaskMd),
                (
                    "planning/sprint.config.json",
                    &f.sprint_config,
                    Validator::SprintConfig,
                ),
                (".github/labels.yml", &f.labels, Validator::Labels),
            ] {
                let report = validate_bytes(path, text.as_bytes(), validator);
                assert!(
                    report.diagnostics.is_empty(),
                    "{day}: {path}: {:?}",
                    report.diagnostics
                );
            }
            day = day.tomorrow().unwrap();
        }
    }

    #[test]
    fn the_sprint_starts_on_this_weeks_monday() {
        // 2026-11-30 is a Monday; 2026-12-03 a Thursday of the same week.
        for day in [
            jiff::civil::date(2026, 11, 30),
            jiff::civil::date(2026, 12, 3),
        ] {
            let f = files(day);
            assert!(
                f.sprint_config.contains("\"start_date\": \"2026-11-30\""),
                "{}",
                f.sprint_config
            );
            assert!(f.sprint_config.contains("\"end_date\": \"2026-12-14\""));
            assert!(
                f.sprint_config
                    .contains("\"sprint_id\": \"Sprint-24-2026\"")
            );
            assert!(
                f.task_md
                    .contains("**Sprint**: 24 (2026-11-30 to 2026-12-14)")
            );
        }
    }
}

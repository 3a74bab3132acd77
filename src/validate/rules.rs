//! Every rule lifeline checks, with its stable code and level.
//!
//! Codes never change meaning once released; `docs/rules.md` lists them all
//! (a test keeps the two in step). SARIF output publishes this table as the
//! tool's rule metadata.

use crate::validate::diagnostic::Level;

macro_rules! rules {
    ($( $variant:ident = $code:literal, $level:ident, $family:literal, $summary:literal; )*) => {
        /// A validation rule.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule { $( $variant, )* }

        impl Rule {
            /// Every rule, in code order.
            pub const ALL: &'static [Rule] = &[ $( Rule::$variant, )* ];

            /// The stable code, e.g. `TASK011`.
            pub fn code(self) -> &'static str {
                match self { $( Rule::$variant => $code, )* }
            }

            /// The level findings of this rule have.
            pub fn level(self) -> Level {
                match self { $( Rule::$variant => Level::$level, )* }
            }

            /// Which validator (or `file`, `cross-file`) checks it.
            pub fn family(self) -> &'static str {
                match self { $( Rule::$variant => $family, )* }
            }

            /// One sentence saying what the rule requires.
            pub fn summary(self) -> &'static str {
                match self { $( Rule::$variant => $summary, )* }
            }
        }
    };
}

rules! {
    FileMissing = "FILE001", Error, "file", "A file of the protected set must exist.";
    FileNotUtf8 = "FILE002", Error, "file", "The file must be valid UTF-8.";
    FileNulByte = "FILE003", Error, "file", "The file must not contain NUL bytes.";
    FileConflictMarker = "FILE004", Error, "file", "The file must not contain git merge-conflict markers.";
    FileEmpty = "FILE005", Error, "file", "The file must not be empty.";
    FileSymlink = "FILE006", Error, "file", "A protected path must not be, or lie below, a symlink; lifeline does not read through it.";
    FileSpecial = "FILE007", Error, "file", "A protected path must be a regular file, not a FIFO, socket, device or directory; lifeline does not open it.";
    FileTooLarge = "FILE008", Error, "file", "A protected file must not be larger than `[limits] max_file_size` (256 MiB by default); lifeline does not read it.";
    FileOddName = "FILE009", Error, "file", "A protected file's name must be UTF-8 without a backslash or a control character; lifeline does not read a file it cannot name.";

    TaskNoTable = "TASK001", Error, "task-md", "The file must contain the task table.";
    TaskDuplicateTable = "TASK002", Error, "task-md", "The task table header must appear only once.";
    TaskMissingColumn = "TASK003", Error, "task-md", "The task table must have the columns ID, Title, Priority, Points, Status, Reviewed, Owner, PR Link, ETA, Depends On and Notes.";
    TaskUnknownColumn = "TASK004", Warning, "task-md", "Columns other than the sprint template's are not expected.";
    TaskDuplicateColumn = "TASK005", Error, "task-md", "A column name must appear once in the table header.";
    TaskRowCells = "TASK006", Error, "task-md", "Every table row must have as many cells as the header.";
    TaskBadSeparator = "TASK007", Error, "task-md", "The line under the table header must be a separator row (`|---|`) with one cell per column.";
    TaskBadId = "TASK010", Error, "task-md", "A task ID must match `T-<digits>`.";
    TaskDuplicateId = "TASK011", Error, "task-md", "Task IDs must be unique.";
    TaskBadTitle = "TASK012", Error, "task-md", "A title must be non-empty and at most 100 characters.";
    TaskNotesTooLong = "TASK013", Error, "task-md", "Notes must be at most 200 characters.";
    TaskBadPriority = "TASK014", Error, "task-md", "Priority must be Critical, High, Medium or Low.";
    TaskBadStatus = "TASK015", Error, "task-md", "Status must be Not Started, In Progress, Blocked, Review, Testing or Done.";
    TaskBadReviewed = "TASK016", Error, "task-md", "Reviewed must be one of ✔️ ✖️ 🔍 ⚠️ 🚀.";
    TaskBadPoints = "TASK017", Error, "task-md", "Points must be a whole number ≥ 0.";
    TaskNonFibonacciPoints = "TASK018", Warning, "task-md", "Points should be 0 or in the Fibonacci set {1, 2, 3, 5, 8, 13, 21}.";
    TaskNoOwner = "TASK019", Warning, "task-md", "A task should have an owner.";
    TaskBadPrLink = "TASK020", Warning, "task-md", "A PR link should read `[#N](../pull/N)` with the same N twice.";
    TaskUnknownDependency = "TASK021", Error, "task-md", "Every ID in Depends On must be a task in the table.";
    TaskDependencyCycle = "TASK022", Error, "task-md", "Dependencies must not form a cycle, and a task must not depend on itself.";
    TaskBadEta = "TASK023", Error, "task-md", "ETA must be `-` or a real date written YYYY-MM-DD.";
    TaskMixedSprintIds = "TASK024", Warning, "task-md", "All tasks should carry the same Sprint ID.";
    TaskNoTasks = "TASK025", Warning, "task-md", "The task table should have at least one task.";
    TaskSprintIdMismatch = "TASK026", Warning, "task-md", "The `**Sprint ID**:` header line should agree with the table's Sprint ID column.";
    TaskStatusSummary = "TASK027", Warning, "task-md", "The Sprint Status Summary counts should agree with the table.";
    TaskNoChangelogAnchor = "TASK028", Warning, "task-md", "The `<!-- changelog-insert-point -->` anchor should be present (task-sync inserts changelog lines there).";
    TaskStrayRow = "TASK029", Error, "task-md", "A task row must belong to a table: a header and separator above it, as many cells as that header.";

    SprintBadJson = "SPRINT001", Error, "sprint-config", "sprint.config.json must be a JSON object.";
    SprintMissingField = "SPRINT002", Error, "sprint-config", "All eight fields must be present.";
    SprintWrongType = "SPRINT003", Error, "sprint-config", "Each field must have its schema type.";
    SprintBadId = "SPRINT004", Error, "sprint-config", "sprint_id must match `Sprint-<2 digits>-<4-digit year>`.";
    SprintNumberMismatch = "SPRINT005", Error, "sprint-config", "sprint_number must be at least 1 and equal the number inside sprint_id.";
    SprintBadVersion = "SPRINT006", Error, "sprint-config", "version must match `v<major>.<minor>.<patch>`.";
    SprintBadDate = "SPRINT007", Error, "sprint-config", "start_date and end_date must be real dates written YYYY-MM-DD.";
    SprintDateOrder = "SPRINT008", Error, "sprint-config", "end_date must not be before start_date.";
    SprintDuration = "SPRINT009", Error, "sprint-config", "duration_days must equal the days between start_date and end_date.";
    SprintNegative = "SPRINT010", Error, "sprint-config", "target_points and last_sprint_velocity must be whole numbers ≥ 0.";
    SprintUnknownField = "SPRINT011", Warning, "sprint-config", "Fields other than the eight known ones are not expected.";
    SprintDuplicateKey = "SPRINT012", Error, "sprint-config", "A field must appear only once.";

    LabelBadYaml = "LABEL001", Error, "labels", "labels.yml must be valid YAML.";
    LabelNotList = "LABEL002", Error, "labels", "labels.yml must be a list of mappings with name, color and description.";
    LabelBadName = "LABEL003", Error, "labels", "A label needs a non-empty name.";
    LabelDuplicate = "LABEL004", Error, "labels", "Label names must be unique, compared case-insensitively as GitHub does.";
    LabelBadColor = "LABEL005", Error, "labels", "A label needs a color of six hex digits, without `#`.";
    LabelLongDescription = "LABEL006", Error, "labels", "A description must be at most 100 characters (GitHub's limit).";
    LabelUnknownKey = "LABEL007", Warning, "labels", "Keys other than name, color and description are not expected.";

    JsonSyntax = "JSON001", Error, "json", "The file must be valid JSON.";
    YamlSyntax = "YAML001", Error, "yaml", "The file must be valid YAML.";

    CrossSprintId = "XREF001", Warning, "cross-file", "TASK.md's Sprint ID should equal sprint_id in the sprint.config.json beside it.";
}

impl Rule {
    /// The rule with `code`, if any.
    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let docs = include_str!("../../docs/rules.md");
        let mut seen = std::collections::HashSet::new();
        for rule in Rule::ALL {
            assert!(seen.insert(rule.code()), "duplicate code {}", rule.code());
            assert!(
                docs.contains(&format!("`{}`", rule.code())),
                "{} is missing from docs/rules.md",
                rule.code()
            );
            assert_eq!(Rule::from_code(rule.code()), Some(*rule));
        }
    }
}

//! Dates as the planning files write them: strict `YYYY-MM-DD` naming a
//! real calendar day (`2025-02-30` is not one).

use jiff::civil::Date;

/// Why a text is not a date.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DateProblem {
    /// Not `DDDD-DD-DD`.
    Shape,
    Month(i8),
    Day {
        year: i16,
        month: i8,
        day: i8,
        last: i8,
    },
}

/// A strict `YYYY-MM-DD` that names a real day.
pub(crate) fn parse_date(text: &str) -> Result<Date, DateProblem> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err(DateProblem::Shape);
    }
    let year: i16 = text[0..4].parse().map_err(|_| DateProblem::Shape)?;
    let month: i8 = text[5..7].parse().map_err(|_| DateProblem::Shape)?;
    let day: i8 = text[8..10].parse().map_err(|_| DateProblem::Shape)?;
    if !(1..=12).contains(&month) {
        return Err(DateProblem::Month(month));
    }
    let last = Date::new(year, month, 1)
        .map_err(|_| DateProblem::Shape)?
        .days_in_month();
    Date::new(year, month, day).map_err(|_| DateProblem::Day {
        year,
        month,
        day,
        last,
    })
}

impl DateProblem {
    /// The end of a sentence that starts with the text itself:
    /// "`2025-02-30` is not a real date (2025-02 has 28 days)".
    pub(crate) fn describe(&self) -> String {
        match self {
            DateProblem::Shape => "is not a date written YYYY-MM-DD".into(),
            DateProblem::Month(month) => {
                format!("is not a real date (there is no month {month})")
            }
            DateProblem::Day {
                year, month, last, ..
            } => format!("is not a real date ({year}-{month:02} has {last} days)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_real_dates() {
        assert!(parse_date("2024-02-29").is_ok());
        assert_eq!(parse_date("2025-7-06"), Err(DateProblem::Shape));
        assert_eq!(parse_date("2025-13-01"), Err(DateProblem::Month(13)));
        assert_eq!(
            parse_date("2025-02-30").unwrap_err().describe(),
            "is not a real date (2025-02 has 28 days)"
        );
    }
}

//! The report as one self-contained HTML page: inline CSS, charts as inline
//! SVG drawn here, no script, and a Content-Security-Policy that lets the
//! page load nothing (no network, no fonts, no images but `data:`). It
//! reads in light and dark (`prefers-color-scheme`) and in print.
//!
//! Everything comes from the typed [`Report`]: this module lays figures out,
//! it does not measure. Every string from the records is redacted and
//! escaped; links are only the `https://` addresses the model built.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::{DrillScenario, Measure, Rate, Report, Sample, SeverityMetrics, Timing, human, pct};
use crate::config::Severity;
use crate::drill::record::Verdict;

/// Rows a table shows before it says how many more the JSON holds.
const MAX_ROWS: usize = 100;
/// Points one chart draws at most (the newest).
const MAX_POINTS: usize = 5_000;

/// The plan's automated-recovery target, percent.
const AUTOMATION_TARGET: f64 = 95.0;

const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--grid:#d1d9e0;--card:#f6f8fa;--border:#d1d9e0;
--good:#1a7f37;--bad:#cf222e;--warn:#9a6700;--p0:#cf222e;--p1:#bc4c00;--p2:#0969da;--p3:#8250df;--bar:#0969da;--link:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--grid:#3d444d;--card:#151b23;--border:#3d444d;
--good:#3fb950;--bad:#f85149;--warn:#d29922;--p0:#ff7b72;--p1:#ffa657;--p2:#58a6ff;--p3:#d2a8ff;--bar:#58a6ff;--link:#58a6ff}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1080px;padding:24px;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Helvetica,Arial,sans-serif}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.2rem;margin:32px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--border)}
h3{font-size:1rem;margin:16px 0 4px}
p.meta,.muted,figcaption{color:var(--muted)}figcaption{font-size:.85rem}
a{color:var(--link)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px;margin:16px 0}
.card{background:var(--card);border:1px solid var(--border);border-radius:8px;padding:12px 14px}
.card .label{font-size:.8rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:1.5rem;font-weight:600;margin:2px 0}
.card .target{font-size:.85rem;color:var(--muted)}
.good{color:var(--good)}.bad{color:var(--bad)}.warn{color:var(--warn)}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:.9rem}
th,td{border-bottom:1px solid var(--border);padding:4px 8px;text-align:left;vertical-align:top}
th{font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:12px 0}svg.chart{width:100%;height:auto;display:block}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:0 24px}
svg text{fill:var(--muted);font:11px system-ui,sans-serif}
svg .axis{stroke:var(--grid);stroke-width:1}svg .gridline{stroke:var(--grid);stroke-width:1;stroke-dasharray:2 3}
svg .p0{fill:var(--p0);stroke:var(--p0)}svg .p1{fill:var(--p1);stroke:var(--p1)}
svg .p2{fill:var(--p2);stroke:var(--p2)}svg .p3{fill:var(--p3);stroke:var(--p3)}
svg .target{fill:none;stroke-width:1.5;stroke-dasharray:6 4}
svg .bar{fill:var(--bar)}svg .bar.good{fill:var(--good)}svg .bar.bad{fill:var(--bad)}
svg .track{fill:var(--grid);opacity:.5}svg .goal{stroke:var(--fg);stroke-width:2}
svg .pass{fill:var(--good);stroke:var(--good)}svg .fail{fill:none;stroke:var(--bad);stroke-width:2}
svg .manual{fill:none;stroke:var(--warn);stroke-width:2}
svg .line{fill:none;stroke:var(--fg);stroke-width:1.5}svg text.empty{font-size:13px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:.85rem;color:var(--muted);margin:4px 0}
.legend svg{vertical-align:middle;margin-right:4px}
.sev{font-weight:600}.sev.p0{color:var(--p0)}.sev.p1{color:var(--p1)}.sev.p2{color:var(--p2)}.sev.p3{color:var(--p3)}
footer{margin-top:32px;font-size:.8rem;color:var(--muted)}
@media print{:root{color-scheme:light;--bg:#fff;--fg:#000;--muted:#444;--grid:#bbb;--card:#fff;--border:#999;--link:#000}
body{max-width:none;padding:0;font-size:11pt}section,figure,.card,tr{break-inside:avoid}h2{break-after:avoid}
a[href^="https://"]::after{content:" (" attr(href) ")";font-size:.8em;word-break:break-all}}
"#;

/// The whole page.
pub(crate) fn page(r: &Report) -> String {
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\n",
    );
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    s.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    s.push_str("<title>lifeline recovery report</title>\n<style>");
    s.push_str(STYLE);
    s.push_str("</style>\n</head>\n<body>\n");
    header(&mut s, r);
    cards(&mut s, r);
    timing_section(&mut s, r);
    automation_section(&mut s, r);
    drills_section(&mut s, r);
    audit_section(&mut s, r);
    open_section(&mut s, r);
    s.push_str(
        "<footer>How each figure is measured: docs/metrics.md in the lifeline repository. \
         \"Unknown\" counts a record that lacks one of the two instants; it is never guessed. \
         The same figures: <code>lifeline report --format json</code>.</footer>\n",
    );
    s.push_str("</body>\n</html>\n");
    s
}

/// Redacts, then escapes for text and attribute values.
fn esc(text: &str) -> String {
    let text = crate::redact::redact(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A link to an `https://` address; anything else is shown as text.
fn link(url: &str, text: &str) -> String {
    if url.starts_with("https://") {
        format!(
            "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
            esc(url),
            esc(text)
        )
    } else {
        esc(text)
    }
}

fn parse(t: &str) -> Option<Timestamp> {
    t.parse().ok()
}

/// `2026-11-01 09:50 UTC`, or the text as recorded when it does not parse.
fn when(t: &str) -> String {
    match parse(t) {
        Some(ts) => esc(&ts.strftime("%Y-%m-%d %H:%M UTC").to_string()),
        None => esc(t),
    }
}

fn sev_class(s: Severity) -> &'static str {
    match s {
        Severity::P0 => "p0",
        Severity::P1 => "p1",
        Severity::P2 => "p2",
        Severity::P3 => "p3",
    }
}

fn sev_label(s: Severity) -> String {
    format!("<span class=\"sev {}\">{s}</span>", sev_class(s))
}

fn header(s: &mut String, r: &Report) {
    let window = match &r.since {
        Some(since) => format!("records since {}", when(since)),
        None => "all records".to_string(),
    };
    let _ = write!(
        s,
        "<header>\n<h1>lifeline recovery report</h1>\n<p class=\"meta\">Generated {} · {window}</p>\n</header>\n",
        when(&r.generated_at)
    );
}

fn card(s: &mut String, id: &str, label: &str, value: &str, class: &str, target: &str) {
    let _ = writeln!(
        s,
        "<div class=\"card\" id=\"{id}\"><div class=\"label\">{label}</div>\
         <div class=\"value {class}\">{value}</div><div class=\"target\">{target}</div></div>"
    );
}

fn rate_value(r: &Rate) -> String {
    match r.percent {
        Some(p) => format!("{p:.1}%"),
        None => "n/a".into(),
    }
}

fn cards(s: &mut String, r: &Report) {
    s.push_str("<section class=\"cards\" aria-label=\"Key figures\">\n");
    let auto = &r.automated_recovery_p2_p3.rate;
    card(
        s,
        "figure-automated",
        "Automated recovery, P2/P3",
        &rate_value(auto),
        match auto.percent {
            Some(p) if p > AUTOMATION_TARGET => "good",
            Some(_) => "bad",
            None => "",
        },
        &format!("{}/{} · target &gt; 95%", auto.succeeded, auto.total),
    );
    let cov = &r.audit.coverage;
    card(
        s,
        "figure-coverage",
        "Audit coverage",
        &rate_value(cov),
        match cov.percent {
            Some(p) if p >= 100.0 => "good",
            Some(_) => "bad",
            None => "",
        },
        &format!("{}/{} operations · target 100%", cov.succeeded, cov.total),
    );
    card(
        s,
        "figure-integrity",
        "Audit integrity",
        &esc(&r.audit.integrity),
        if r.audit.integrity == "valid" {
            "good"
        } else {
            "bad"
        },
        &format!("{} entries in the window", r.audit.entries),
    );
    let d = &r.drills;
    let (value, target) = match (&d.last, d.days_since_last) {
        (Some(last), Some(0)) => (
            "today".to_string(),
            format!("{} · target monthly", when(last)),
        ),
        (Some(last), Some(days)) => (
            format!("{days} d ago"),
            format!("{} · target monthly", when(last)),
        ),
        _ => ("none".to_string(), "target monthly".to_string()),
    };
    card(
        s,
        "figure-last-drill",
        "Last drill",
        &value,
        if d.on_schedule { "good" } else { "bad" },
        &target,
    );
    card(
        s,
        "figure-open-incidents",
        "Open incidents",
        &r.open_incidents.len().to_string(),
        if r.open_incidents.is_empty() {
            "good"
        } else {
            "warn"
        },
        "incident records without a resolution",
    );
    card(
        s,
        "figure-open-alerts",
        "Open alerts",
        &r.open_alerts.len().to_string(),
        if r.open_alerts.is_empty() {
            "good"
        } else {
            "warn"
        },
        "alert issues health left open",
    );
    let (value, class, target) = match (&r.checkpoints.newest, &r.checkpoints.error) {
        (_, Some(e)) => ("unreadable".to_string(), "bad", esc(e)),
        (Some(c), None) => (
            parse(&c.created_at).map_or_else(
                || esc(&c.created_at),
                |t| t.strftime("%Y-%m-%d").to_string(),
            ),
            if c.valid { "good" } else { "warn" },
            format!(
                "{} · {} · {} in the store",
                esc(&c.id),
                if c.valid { "valid" } else { "NOT valid" },
                r.checkpoints.count
            ),
        ),
        (None, None) => ("none".to_string(), "bad", "no checkpoint to restore".into()),
    };
    card(
        s,
        "figure-checkpoint",
        "Newest checkpoint",
        &value,
        class,
        &target,
    );
    s.push_str("</section>\n");
}

fn timing_cell(t: &Timing) -> String {
    let mut cell = match t.median_secs {
        Some(m) => format!(
            "{} <span class=\"muted\">(n={})</span>",
            human(m),
            t.measured
        ),
        None => "–".into(),
    };
    if let (Some(within), Some(_)) = (t.within_target, t.target_secs)
        && t.measured > 0
    {
        let class = if within == t.measured { "good" } else { "bad" };
        let _ = write!(
            cell,
            "<br><span class=\"{class}\">{within}/{} within target</span>",
            t.measured
        );
    }
    if t.unknown > 0 {
        let _ = write!(
            cell,
            "<br><span class=\"muted\">{} unknown</span>",
            t.unknown
        );
    }
    cell
}

fn target_cell(t: &Timing) -> String {
    match (t.target_secs, &t.target_source) {
        (Some(secs), Some(src)) => format!(
            "{}<br><span class=\"muted\">{}</span>",
            human(secs as f64),
            esc(src)
        ),
        (Some(secs), None) => human(secs as f64),
        _ => "<span class=\"muted\">none set</span>".into(),
    }
}

const MEASURES: [(Measure, &str, &str); 3] = [
    (Measure::Detect, "detect", "Time to detect"),
    (Measure::Acknowledge, "acknowledge", "Time to acknowledge"),
    (Measure::Recover, "recover", "Time to recover"),
];

fn timing_of(m: &SeverityMetrics, measure: Measure) -> &Timing {
    match measure {
        Measure::Detect => &m.detect,
        Measure::Acknowledge => &m.acknowledge,
        Measure::Recover => &m.recover,
    }
}

fn timing_section(s: &mut String, r: &Report) {
    s.push_str("<section id=\"timing\">\n<h2>Time to detect, acknowledge and recover</h2>\n");
    s.push_str(
        "<p class=\"muted\">Medians per severity against the plan's targets (detect within 15 min at P0/P1; \
         recover within 2 h at P1 and 8 h at P2) and the policy's response time for acknowledgement.</p>\n",
    );
    legend(s);
    s.push_str("<div class=\"charts\">\n");
    let (from, to) = period(r);
    // Detection and recovery first: the plan's own targets.
    for (measure, id, title) in [MEASURES[0], MEASURES[2], MEASURES[1]] {
        let points: Vec<&Sample> = r.samples.iter().filter(|p| p.measure == measure).collect();
        let targets: Vec<(Severity, f64)> = r
            .severities
            .iter()
            .filter_map(|m| {
                timing_of(m, measure)
                    .target_secs
                    .map(|t| (m.severity, t as f64))
            })
            .collect();
        let _ = writeln!(s, "<figure id=\"chart-{id}\"><h3>{title}</h3>");
        time_chart(s, title, &points, &targets, from, to);
        let _ = writeln!(
            s,
            "<figcaption>{} measured {} over the report period; each point is one record at its detection time, \
             dashed lines are the targets.</figcaption></figure>",
            points.len(),
            title.to_lowercase()
        );
    }
    s.push_str("</div>\n");
    s.push_str("<table id=\"timing-table\"><thead><tr><th>Severity</th><th class=\"num\">Incidents (resolved)</th>");
    for (_, _, title) in MEASURES {
        let _ = write!(s, "<th>{title}</th><th>Target</th>");
    }
    s.push_str("</tr></thead><tbody>\n");
    for m in &r.severities {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{} ({})</td>",
            sev_label(m.severity),
            m.incidents,
            m.resolved
        );
        for (measure, _, _) in MEASURES {
            let t = timing_of(m, measure);
            let _ = write!(s, "<td>{}</td><td>{}</td>", timing_cell(t), target_cell(t));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    s.push_str("</section>\n");
}

/// The time axis: from `--since` (or the oldest point) to when the
/// report was made.
fn period(r: &Report) -> (Timestamp, Timestamp) {
    let to = parse(&r.generated_at).unwrap_or_else(Timestamp::now);
    let oldest = r
        .samples
        .iter()
        .map(|p| p.at.as_str())
        .chain(r.drills.history.iter().map(|d| d.at.as_str()))
        .filter_map(parse)
        .min();
    let from = r.since.as_deref().and_then(parse).or(oldest).unwrap_or(to);
    // At least a day, so the axis can be read.
    (from.min(to - jiff::SignedDuration::from_hours(24)), to)
}

fn legend(s: &mut String) {
    s.push_str("<div class=\"legend\">");
    for sev in Severity::ALL {
        let _ = write!(
            s,
            "<span><svg width=\"14\" height=\"14\" viewBox=\"-7 -7 14 14\" aria-hidden=\"true\">{}</svg>{sev}</span>",
            marker(sev, 0.0, 0.0)
        );
    }
    s.push_str("<span><svg width=\"24\" height=\"14\" aria-hidden=\"true\"><line class=\"target p1\" x1=\"0\" y1=\"7\" x2=\"24\" y2=\"7\"/></svg>target</span></div>\n");
}

/// A severity's marker: a shape as well as a colour, for print and for
/// readers who do not tell the colours apart.
fn marker(sev: Severity, x: f64, y: f64) -> String {
    let c = sev_class(sev);
    match sev {
        Severity::P0 => format!(
            "<path class=\"{c}\" d=\"M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z\"/>",
            y - 5.5,
            x + 5.5,
            y + 5.5,
            x - 5.5
        ),
        Severity::P1 => format!("<circle class=\"{c}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4.5\"/>"),
        Severity::P2 => format!(
            "<rect class=\"{c}\" x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\"/>",
            x - 4.0,
            y - 4.0
        ),
        Severity::P3 => format!(
            "<path class=\"{c}\" d=\"M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z\"/>",
            y - 5.0,
            x + 5.0,
            y + 4.0,
            x - 5.0,
            y + 4.0
        ),
    }
}

/// Log-scale ticks, seconds.
const TICKS: [(f64, &str); 12] = [
    (0.001, "1 ms"),
    (0.01, "10 ms"),
    (0.1, "100 ms"),
    (1.0, "1 s"),
    (10.0, "10 s"),
    (60.0, "1 min"),
    (900.0, "15 min"),
    (3600.0, "1 h"),
    (7200.0, "2 h"),
    (28800.0, "8 h"),
    (172_800.0, "48 h"),
    (604_800.0, "1 w"),
];

/// A chart in the two-column grid.
const W: f64 = 520.0;
/// A chart across the page.
const WIDE: f64 = 1000.0;
const H: f64 = 200.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A log-scale y axis spanning `values` (seconds).
struct LogAxis {
    lo: f64,
    hi: f64,
    w: f64,
}

impl LogAxis {
    fn over(w: f64, values: impl Iterator<Item = f64>) -> LogAxis {
        let (mut min, mut max) = (f64::MAX, f64::MIN);
        for v in values.filter(|v| v.is_finite()) {
            min = min.min(v);
            max = max.max(v);
        }
        if min > max {
            (min, max) = (1.0, 3600.0);
        }
        let lo = TICKS
            .iter()
            .rev()
            .map(|t| t.0)
            .find(|t| *t <= min)
            .unwrap_or(TICKS[0].0);
        let hi = TICKS
            .iter()
            .map(|t| t.0)
            .find(|t| *t >= max && *t > lo)
            .unwrap_or(TICKS[TICKS.len() - 1].0);
        LogAxis { lo, hi, w }
    }

    fn y(&self, v: f64) -> f64 {
        let v = v.clamp(self.lo, self.hi);
        let f = (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln());
        H - BOTTOM - f * (H - TOP - BOTTOM)
    }

    fn draw(&self, s: &mut String) {
        for (v, label) in TICKS.iter().filter(|t| t.0 >= self.lo && t.0 <= self.hi) {
            let y = self.y(*v);
            let _ = write!(
                s,
                "<line class=\"gridline\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>",
                self.w - RIGHT,
                LEFT - 6.0,
                y + 4.0
            );
        }
    }
}

/// A time x axis from `from` to `to`.
struct TimeAxis {
    from: f64,
    to: f64,
    w: f64,
}

impl TimeAxis {
    fn new(w: f64, from: Timestamp, to: Timestamp) -> TimeAxis {
        TimeAxis {
            w,
            from: from.as_second() as f64,
            to: (to.as_second() as f64).max(from.as_second() as f64 + 1.0),
        }
    }

    fn x(&self, t: Timestamp) -> f64 {
        let f = ((t.as_second() as f64 - self.from) / (self.to - self.from)).clamp(0.0, 1.0);
        LEFT + f * (self.w - LEFT - RIGHT)
    }

    fn draw(&self, s: &mut String) {
        let span = self.to - self.from;
        let format = if span < 2.0 * 86_400.0 {
            "%m-%d %H:%M"
        } else {
            "%Y-%m-%d"
        };
        for i in 0..=4 {
            let secs = self.from + span * f64::from(i) / 4.0;
            let Ok(t) = Timestamp::from_second(secs as i64) else {
                continue;
            };
            let x = self.x(t);
            let anchor = match i {
                0 => "start",
                4 => "end",
                _ => "middle",
            };
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                H - 8.0,
                t.strftime(format)
            );
        }
        let _ = write!(
            s,
            "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
            H - BOTTOM,
            self.w - RIGHT,
            H - BOTTOM
        );
    }
}

fn svg_open(s: &mut String, w: f64, h: f64, title: &str, desc: &str) {
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\">\
         <title>{}</title><desc>{}</desc>",
        esc(title),
        esc(desc)
    );
}

fn empty(s: &mut String, w: f64, text: &str) {
    let _ = write!(
        s,
        "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        w / 2.0,
        H / 2.0,
        esc(text)
    );
}

/// Durations over time, one marker per record, log scale, with the
/// targets as dashed lines.
fn time_chart(
    s: &mut String,
    title: &str,
    points: &[&Sample],
    targets: &[(Severity, f64)],
    from: Timestamp,
    to: Timestamp,
) {
    let points = &points[points.len().saturating_sub(MAX_POINTS)..];
    let y = LogAxis::over(
        W,
        points
            .iter()
            .map(|p| p.secs.max(0.001))
            .chain(targets.iter().map(|t| t.1)),
    );
    let x = TimeAxis::new(W, from, to);
    svg_open(
        s,
        W,
        H,
        title,
        &format!("{} points; targets: {}", points.len(), {
            let t: Vec<String> = targets
                .iter()
                .map(|(sev, secs)| format!("{sev} {}", human(*secs)))
                .collect();
            if t.is_empty() {
                "none".to_string()
            } else {
                t.join(", ")
            }
        }),
    );
    y.draw(s);
    x.draw(s);
    for (sev, secs) in targets {
        let ty = y.y(*secs);
        let _ = write!(
            s,
            "<line class=\"target {}\" x1=\"{LEFT}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\"><title>{sev} target {}</title></line>",
            sev_class(*sev),
            W - RIGHT,
            human(*secs)
        );
    }
    if points.is_empty() {
        empty(s, W, "nothing measured in this period");
    }
    for p in points {
        let Some(at) = parse(&p.at) else { continue };
        let _ = write!(
            s,
            "<g data-secs=\"{}\">{}<title>{} {}: {}</title></g>",
            p.secs,
            marker(p.severity, x.x(at), y.y(p.secs.max(0.001))),
            p.severity,
            when(&p.at),
            human(p.secs)
        );
    }
    s.push_str("</svg>\n");
}

/// One horizontal bar per rate, with the target as a mark.
fn automation_section(s: &mut String, r: &Report) {
    let a = &r.automated_recovery_p2_p3;
    s.push_str("<section id=\"automation\">\n<h2>Automated recovery, P2/P3</h2>\n");
    s.push_str(
        "<p class=\"muted\">Failures at P2/P3 that lifeline put right without a person: <code>run</code> \
         rollbacks, runbooks run by automation and drill scenarios. The plan's target is more than 95%.</p>\n",
    );
    let rows = [
        ("All", &a.rate),
        ("run rollbacks", &a.run_rollbacks),
        ("Incidents", &a.incidents),
        ("Drill scenarios", &a.drills),
    ];
    let row_h = 30.0;
    let height = row_h * rows.len() as f64 + 24.0;
    let (left, width) = (130.0, WIDE - 130.0 - 120.0);
    let _ = write!(
        s,
        "<figure id=\"chart-automation\"><svg class=\"chart\" viewBox=\"0 0 {WIDE} {height}\" role=\"img\" \
        ><title>Automated recovery rate against 95%</title><desc>{}</desc>",
        esc(&rows
            .iter()
            .map(|(label, rate)| format!("{label}: {}", pct(rate)))
            .collect::<Vec<_>>()
            .join("; "))
    );
    for (i, (label, rate)) in rows.iter().enumerate() {
        let y = 8.0 + row_h * i as f64;
        let class = match rate.percent {
            Some(p) if p > AUTOMATION_TARGET => "bar good",
            Some(_) => "bar bad",
            None => "bar",
        };
        let filled = rate.percent.unwrap_or(0.0).clamp(0.0, 100.0) / 100.0 * width;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>\
             <rect class=\"track\" x=\"{left}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"18\" rx=\"3\"/>\
             <rect class=\"{class}\" x=\"{left}\" y=\"{y:.1}\" width=\"{filled:.1}\" height=\"18\" rx=\"3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            left - 8.0,
            y + 13.0,
            left + width + 8.0,
            y + 13.0,
            esc(&pct(rate))
        );
    }
    let gx = left + AUTOMATION_TARGET / 100.0 * width;
    let _ = writeln!(
        s,
        "<line class=\"goal\" x1=\"{gx:.1}\" y1=\"4\" x2=\"{gx:.1}\" y2=\"{:.1}\"/>\
         <text x=\"{gx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">95% target</text></svg></figure>",
        height - 18.0,
        height - 4.0
    );
    s.push_str("</section>\n");
}

fn drills_section(s: &mut String, r: &Report) {
    let d = &r.drills;
    s.push_str("<section id=\"drills\">\n<h2>Drills</h2>\n");
    let schedule = match (&d.last, d.days_since_last) {
        (Some(last), Some(days)) if d.on_schedule => format!(
            "<span class=\"good\">on schedule</span>: the last drill ran {} ({days} days ago); the plan drills monthly.",
            when(last)
        ),
        (Some(last), Some(days)) => format!(
            "<span class=\"bad\">overdue</span>: the last drill ran {} ({days} days ago); the plan drills monthly.",
            when(last)
        ),
        _ => "<span class=\"bad\">no drill</span> in this period; the plan drills monthly (<code>lifeline drill</code>)."
            .to_string(),
    };
    let _ = writeln!(s, "<p id=\"drill-schedule\">{schedule}</p>");
    let _ = writeln!(
        s,
        "<p>{} scenarios: {} passed, {} detected with manual recovery required, {} failed{}.</p>",
        d.scenarios,
        d.passed,
        d.manual_recovery_required,
        d.failed,
        if d.unreadable > 0 {
            format!(", {} entries this version cannot read", d.unreadable)
        } else {
            String::new()
        }
    );
    drill_chart(s, r);
    if d.history.is_empty() {
        s.push_str("</section>\n");
        return;
    }
    s.push_str(
        "<table id=\"drill-history\"><thead><tr><th>When</th><th>Scenario</th><th>Severity</th>\
         <th class=\"num\">Detect</th><th class=\"num\">Recover</th><th>Recovered</th><th>Verdict</th></tr></thead><tbody>\n",
    );
    let ms = |v: Option<u64>| v.map_or("–".to_string(), |v| format!("{v} ms"));
    for sc in d.history.iter().rev().take(MAX_ROWS) {
        let (class, verdict) = match sc.verdict {
            Verdict::Passed => ("good", "passed"),
            Verdict::ManualRecoveryRequired => ("warn", "detected, manual recovery required"),
            Verdict::Failed => ("bad", "failed"),
        };
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"{class}\">{verdict}</td></tr>",
            when(&sc.at),
            esc(&sc.name),
            sev_label(sc.severity),
            ms(sc.detect_ms),
            ms(sc.recover_ms),
            if sc.recovered { "yes" } else { "no" },
        );
    }
    s.push_str("</tbody></table>\n");
    if d.history.len() > MAX_ROWS {
        let _ = writeln!(
            s,
            "<p class=\"muted\">… and {} older scenarios (all of them: <code>--format json</code>).</p>",
            d.history.len() - MAX_ROWS
        );
    }
    s.push_str("</section>\n");
}

/// Each scenario at its time: its recovery time (or detection time when it
/// did not recover), filled when it passed, hollow when it did not.
fn drill_chart(s: &mut String, r: &Report) {
    let history = &r.drills.history[r.drills.history.len().saturating_sub(MAX_POINTS)..];
    let secs = |d: &DrillScenario| {
        d.recover_ms
            .or(d.detect_ms)
            .map(|ms| (ms as f64 / 1000.0).max(0.001))
    };
    let y = LogAxis::over(WIDE, history.iter().filter_map(secs));
    let (from, to) = period(r);
    let x = TimeAxis::new(WIDE, from, to);
    s.push_str("<figure id=\"chart-drills\">");
    svg_open(
        s,
        WIDE,
        H,
        "Drill scenarios over time",
        &format!(
            "{} scenarios: {} passed, {} failed",
            history.len(),
            r.drills.passed,
            r.drills.failed
        ),
    );
    y.draw(s);
    x.draw(s);
    if history.is_empty() {
        empty(s, WIDE, "no drill in this period");
    }
    for d in history {
        let (Some(at), Some(v)) = (parse(&d.at), secs(d)) else {
            continue;
        };
        let class = match d.verdict {
            Verdict::Passed => "pass",
            Verdict::ManualRecoveryRequired => "manual",
            Verdict::Failed => "fail",
        };
        let _ = write!(
            s,
            "<circle class=\"{class}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4.5\"><title>{} {} ({}): {}</title></circle>",
            x.x(at),
            y.y(v),
            when(&d.at),
            esc(&d.name),
            d.severity,
            class
        );
    }
    s.push_str(
        "</svg><figcaption>Each scenario at the time it ran: its recovery time (its detection time when nothing \
         recovered). Filled: passed; hollow red: failed; hollow amber: detected, manual recovery required.</figcaption></figure>\n",
    );
}

fn audit_section(s: &mut String, r: &Report) {
    let a = &r.audit;
    s.push_str("<section id=\"audit\">\n<h2>Audit trail</h2>\n");
    let months = &a.per_month;
    let height = H;
    let max = months.iter().map(|m| m.entries).max().unwrap_or(0).max(1) as f64;
    let total: usize = months.iter().map(|m| m.entries).sum();
    s.push_str("<figure id=\"chart-audit\">");
    svg_open(
        s,
        WIDE,
        height,
        "Audit entries per month",
        &months
            .iter()
            .map(|m| format!("{}: {}", m.month, m.entries))
            .collect::<Vec<_>>()
            .join("; "),
    );
    let plot_h = height - TOP - BOTTOM;
    for frac in [0.0, 0.5, 1.0] {
        let y = height - BOTTOM - frac * plot_h;
        let _ = write!(
            s,
            "<line class=\"gridline\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDE - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            (max * frac).round()
        );
    }
    if months.is_empty() {
        empty(s, WIDE, "no audit entries in this period");
    }
    // A bar is at most 48 wide (three quarters of 64): one month alone is not a wall.
    let slot = ((WIDE - LEFT - RIGHT) / months.len().max(1) as f64).min(64.0);
    let label_every = months.len().div_ceil(12).max(1);
    let mut line = String::new();
    let mut running = 0usize;
    for (i, m) in months.iter().enumerate() {
        let bar_h = m.entries as f64 / max * plot_h;
        let x = LEFT + slot * i as f64;
        let _ = write!(
            s,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\"><title>{}: {} entries</title></rect>",
            x + slot * 0.125,
            height - BOTTOM - bar_h,
            slot * 0.75,
            esc(&m.month),
            m.entries
        );
        if i % label_every == 0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + slot / 2.0,
                height - 8.0,
                esc(&m.month)
            );
        }
        running += m.entries;
        let _ = write!(
            line,
            "{}{:.1},{:.1}",
            if i == 0 { "" } else { " " },
            x + slot / 2.0,
            height - BOTTOM - running as f64 / total.max(1) as f64 * plot_h
        );
    }
    if months.len() > 1 {
        let _ = write!(s, "<polyline class=\"line\" points=\"{line}\"/>");
    }
    s.push_str(
        "</svg><figcaption>Bars: entries written each month (UTC). Line: the trail's growth over the period, \
         as a share of its entries in the period.</figcaption></figure>\n",
    );
    let newest = match (&r.checkpoints.newest, &r.checkpoints.error) {
        (_, Some(e)) => format!(
            "<span class=\"bad\">the store could not be read</span>: {}",
            esc(e)
        ),
        (Some(c), None) => format!(
            "{} ({}, {}, {}) of {}",
            esc(&c.id),
            esc(&c.kind),
            when(&c.created_at),
            if c.valid {
                "<span class=\"good\">valid</span>"
            } else {
                "<span class=\"bad\">not valid</span>"
            },
            r.checkpoints.count
        ),
        (None, None) => "<span class=\"bad\">none</span>".into(),
    };
    let _ = writeln!(
        s,
        "<table id=\"audit-facts\"><tbody>\
         <tr><th>Integrity</th><td class=\"{}\">{}</td></tr>\
         <tr><th>Entries in the period</th><td>{}</td></tr>\
         <tr><th>Coverage (start and outcome, per operation)</th><td>{} <span class=\"muted\">target 100%</span></td></tr>\
         <tr><th>Oldest retained entry</th><td>{} <span class=\"muted\">kept 7 years</span></td></tr>\
         <tr><th>Retrieval of a record by ID</th><td>{} <span class=\"muted\">target &lt; 5 min</span></td></tr>\
         <tr><th>Newest checkpoint</th><td>{newest}</td></tr>\
         </tbody></table>",
        if a.integrity == "valid" {
            "good"
        } else {
            "bad"
        },
        esc(&a.integrity),
        a.entries,
        esc(&pct(&a.coverage)),
        a.oldest_entry.as_deref().map_or("–".into(), when),
        a.retrieval_ms
            .map_or("–".into(), |ms| format!("{ms:.1} ms")),
    );
    if !a.uncovered.is_empty() {
        s.push_str("<h3>Operations with a start and no outcome</h3>\n<ul>\n");
        for u in a.uncovered.iter().take(MAX_ROWS) {
            let _ = writeln!(
                s,
                "<li>{} <code>{}</code> in session <code>{}</code> ({}{})</li>",
                when(&u.timestamp),
                esc(&u.component),
                esc(&u.session_id),
                esc(&u.audit_id),
                u.operation_id
                    .as_deref()
                    .map_or(String::new(), |id| format!(", operation {}", esc(id)))
            );
        }
        if a.uncovered.len() > MAX_ROWS {
            let _ = writeln!(s, "<li>… and {} more</li>", a.uncovered.len() - MAX_ROWS);
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</section>\n");
}

fn open_section(s: &mut String, r: &Report) {
    s.push_str("<section id=\"open\">\n<h2>Open incidents and alerts</h2>\n");
    if r.open_incidents.is_empty() {
        s.push_str("<p id=\"open-incidents\">No open incident.</p>\n");
    } else {
        s.push_str(
            "<table id=\"open-incidents\"><thead><tr><th>Incident</th><th>Severity</th><th>Type</th><th>Started</th></tr></thead><tbody>\n",
        );
        for i in r.open_incidents.iter().take(MAX_ROWS) {
            let name = match &i.url {
                Some(url) => link(url, &i.id),
                None => format!(
                    "{} <span class=\"muted\">({})</span>",
                    esc(&i.id),
                    esc(&i.path)
                ),
            };
            let _ = writeln!(
                s,
                "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                sev_label(i.severity),
                esc(&i.kind),
                when(&i.started_at)
            );
        }
        s.push_str("</tbody></table>\n");
        more(s, r.open_incidents.len(), "open incidents");
    }
    if r.open_alerts.is_empty() {
        s.push_str("<p id=\"open-alerts\">No open alert.</p>\n");
    } else {
        s.push_str(
            "<table id=\"open-alerts\"><thead><tr><th>Alert</th><th>Severity</th><th>Finding</th><th>Open since</th></tr></thead><tbody>\n",
        );
        for a in r.open_alerts.iter().take(MAX_ROWS) {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                link(&a.url, &format!("{}#{}", a.repo, a.issue)),
                a.severity.map_or("–".into(), sev_label),
                esc(&a.fingerprint),
                when(&a.opened_at)
            );
        }
        s.push_str("</tbody></table>\n");
        more(s, r.open_alerts.len(), "open alerts");
    }
    s.push_str("</section>\n");
}

/// After a table of `total` rows cut at [`MAX_ROWS`]: how many were left
/// out, so a flood of records cannot hide the rest without a word.
fn more(s: &mut String, total: usize, what: &str) {
    if total > MAX_ROWS {
        let _ = writeln!(
            s,
            "<p class=\"muted\">… and {} more {what} (all of them: <code>--format json</code>).</p>",
            total - MAX_ROWS
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SeverityPolicy;

    #[test]
    fn text_is_escaped_and_tokens_redacted() {
        assert_eq!(
            esc("<a href='x'>&\"</a>\u{7}"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;\u{FFFD}"
        );
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ0123";
        assert!(!esc(&format!("push with {token}")).contains(token));
    }

    #[test]
    fn only_https_addresses_become_links() {
        assert_eq!(
            link("https://github.com/a/b/issues/1", "a/b#1"),
            "<a href=\"https://github.com/a/b/issues/1\" rel=\"noopener noreferrer\">a/b#1</a>"
        );
        for url in [
            "javascript:alert(1)",
            "//evil.example/x",
            "http://github.com/a",
        ] {
            assert_eq!(link(url, "x<"), "x&lt;", "{url}");
        }
    }

    #[test]
    fn the_log_axis_spans_the_values_and_the_targets() {
        let axis = LogAxis::over(W, [30.0, 5000.0].into_iter());
        assert_eq!((axis.lo, axis.hi), (10.0, 7200.0));
        assert!(axis.y(30.0) > axis.y(5000.0), "longer is higher");
        // Nothing to plot: a readable default, not a NaN.
        let empty = LogAxis::over(W, std::iter::empty());
        assert!(empty.y(60.0).is_finite());
    }

    #[test]
    fn an_empty_report_says_so_and_still_has_no_script_or_url() {
        let r = super::super::compute(
            &SeverityPolicy::default(),
            &[],
            &[],
            None,
            "valid".into(),
            None,
        );
        let html = page(&r);
        assert!(html.contains("nothing measured in this period"));
        assert!(html.contains("no drill</span> in this period"));
        assert!(html.contains("no audit entries in this period"));
        assert!(html.contains("No open incident."));
        assert!(!html.contains("<script"));
        assert!(!html.contains("http://"));
        assert!(!html.contains("NaN"));
        assert!(html.contains("@media print"));
        assert!(html.contains("prefers-color-scheme:dark"));
    }
}

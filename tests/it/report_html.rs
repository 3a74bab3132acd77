//! `lifeline report --format html` rendered in headless Chromium (Debian's
//! `chromium`, which .ci/run installs): the DOM holds the figures, the
//! screenshots are not blank in light or dark, and the page loads nothing
//! from the network. Without Chromium these tests fail: they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Repo, stdout};
use serde_json::Value;

/// Chromium on PATH, or a failure that says how to get it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "headless Chromium is needed to test the HTML report and is not on PATH: \
                 install Debian's package (`apt-get install -y chromium`; .ci/run does)"
            )
        })
}

/// Runs headless Chromium on `page` with its own profile, every host name
/// unresolvable and the browser's own background traffic off; `extra`
/// says what to produce. Returns stdout.
fn run_chromium(page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1100,2400",
            // Capture after 60 s even if the page never finished loading.
            "--timeout=60000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium {extra:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn incident(repo: &Repo, id: &str, severity: &str, kind: &str, times: [Option<&str>; 3]) {
    let q = |v: Option<&str>| v.map_or("null".to_string(), |r| format!("\"{r}\""));
    let [detected, started, resolved] = times;
    let (status, outcome) = match resolved {
        Some(_) => ("resolved", "recovered"),
        None => ("open", "in-progress"),
    };
    repo.write(
        &format!("docs/incidents/{id}.md"),
        format!(
            "---\nid: \"{id}\"\nstatus: \"{status}\"\nseverity: \"{severity}\"\ntype: \"{kind}\"\nrunbook: \"task-file-corruption\"\noperator: \"user:test\"\ncheckpoint: null\ndetected_at: {}\nstarted_at: {}\nresolved_at: {}\noutcome: \"{outcome}\"\ndisabled:\nchanged:\n---\n\n# Incident {id}\n\n## Timeline\n\n",
            q(detected),
            q(started),
            q(resolved)
        ),
    );
}

fn ago(minutes: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes))
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string()
}

/// Records of every kind the page shows: a recovered P1 incident and an
/// open P2 one, a health run that opened alert #7 (with `fingerprint` as
/// its finding), a `run` rollback, two drill scenarios and a checkpoint.
fn records(repo: &Repo, fingerprint: &str, open_kind: &str) {
    incident(
        repo,
        "INC-20261101T100000Z-aaaa",
        "P1",
        "task-file-corruption",
        [Some(&ago(300)), Some(&ago(290)), Some(&ago(200))],
    );
    incident(
        repo,
        "INC-20261102T100000Z-bbbb",
        "P2",
        open_kind,
        [Some(&ago(60)), Some(&ago(50)), None],
    );
    let health = serde_json::json!({
        "repo": "acme/plan",
        "alerts": [{"action": "opened", "fingerprint": fingerprint, "issue": 7}],
        "detections": [{
            "fingerprint": fingerprint,
            "severity": "P1",
            "failed_at": ago(40),
            "detected_at": ago(30),
        }],
    });
    let run = serde_json::json!({
        "severity": "P2",
        "rollback": "rolled-back",
        "started_at": ago(20),
        "detected_at": ago(19),
        "recovered_at": ago(18),
    });
    for (component, operation, details) in [("health", "alert", health), ("run", "outcome", run)] {
        repo.lifeline()
            .args(["audit", "log", "--component", component])
            .args(["--operation", operation, "--details-json"])
            .arg(details.to_string())
            .assert()
            .code(0);
    }
    repo.lifeline()
        .args(["drill", "--scenario", "merge-conflict-markers"])
        .args(["--scenario", "api-rate-limit"])
        .assert()
        .code(0);
    repo.checkpoint("manual", "report-html");
}

/// The page `report --format html` prints, saved as a file, and the same
/// report as JSON.
fn page(repo: &Repo) -> (tempfile::TempDir, PathBuf, Value) {
    let run = |format: &str| {
        stdout(
            &repo
                .lifeline()
                .env("GITHUB_SERVER_URL", "https://github.com")
                .env("GITHUB_REPOSITORY", "acme/plan")
                .args(["report", "--format", format])
                .assert()
                .code(0),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    std::fs::write(&path, run("html")).unwrap();
    let json = serde_json::from_str(&run("json")).unwrap();
    (dir, path, json)
}

/// The markers a chart figure draws: one `data-secs` group per point.
fn points_in(dom: &str, figure: &str) -> usize {
    let start = dom
        .find(&format!("id=\"{figure}\""))
        .unwrap_or_else(|| panic!("no {figure} in the DOM"));
    let end = start + dom[start..].find("</figure>").unwrap();
    dom[start..end].matches("data-secs=").count()
}

#[test]
fn the_page_rendered_in_chromium_holds_the_figures() {
    let repo = Repo::sample();
    records(
        &repo,
        "workflow-failure:task-sync.yml",
        "sync-failure-cascade",
    );
    let (_dir, page, json) = page(&repo);
    let dom = run_chromium(&page, &["--dump-dom".to_string()]);

    let rate = json["automated_recovery_p2_p3"]["rate"]["percent"]
        .as_f64()
        .unwrap();
    let card = &dom[dom.find("id=\"figure-automated\"").expect("the rate card")..];
    assert!(
        card[..card.find("</div></div>").unwrap()].contains(&format!("{rate:.1}%")),
        "{card}"
    );
    assert!(dom.contains("id=\"figure-integrity\""), "{dom}");
    assert!(dom.contains(">valid<"), "{dom}");
    assert!(dom.contains("id=\"figure-checkpoint\""), "{dom}");
    assert!(dom.contains("manual-"), "the newest checkpoint's id: {dom}");

    // Every measured duration is a point on its chart.
    let samples = json["samples"].as_array().unwrap();
    for (measure, figure) in [
        ("detect", "chart-detect"),
        ("acknowledge", "chart-acknowledge"),
        ("recover", "chart-recover"),
    ] {
        let n = samples.iter().filter(|s| s["measure"] == measure).count();
        assert!(n >= 1, "no {measure} sample in {json}");
        assert_eq!(points_in(&dom, figure), n, "{figure}");
    }
    // The target lines: P0 and P1 detect within 15 min.
    let detect = &dom[dom.find("id=\"chart-detect\"").unwrap()..];
    assert!(detect.contains("P1 target 15.0 min"), "{detect}");

    // Drill history: one row and one marker per scenario.
    let table = &dom[dom.find("id=\"drill-history\"").expect("drill table")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr>").count(), 1 + 2, "{table}");
    assert!(table.contains("merge-conflict-markers"), "{table}");
    let chart = &dom[dom.find("id=\"chart-drills\"").unwrap()..];
    let chart = &chart[..chart.find("</figure>").unwrap()];
    assert_eq!(
        chart.matches("<circle class=\"pass\"").count(),
        2,
        "{chart}"
    );
    assert!(dom.contains("on schedule"), "{dom}");

    // Audit volume: this month's bar holds every entry.
    let entries = json["audit"]["entries"].as_u64().unwrap();
    let month = json["audit"]["per_month"][0]["month"].as_str().unwrap();
    assert!(
        dom.contains(&format!("{month}: {entries} entries")),
        "{entries} entries in {month}: {dom}"
    );

    // Open incidents and alerts, linked.
    assert!(
        dom.contains(
            "href=\"https://github.com/acme/plan/blob/HEAD/docs/incidents/INC-20261102T100000Z-bbbb.md\""
        ),
        "{dom}"
    );
    assert!(
        !dom.contains("INC-20261101T100000Z-aaaa.md"),
        "a resolved incident is not open"
    );
    assert!(
        dom.contains("href=\"https://github.com/acme/plan/issues/7\""),
        "{dom}"
    );
}

/// Decoded RGBA pixels of a PNG.
fn pixels(png_path: &Path) -> (Vec<[u8; 4]>, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let px = bytes
        .chunks(channels)
        .map(|c| match channels {
            3 => [c[0], c[1], c[2], 255],
            4 => [c[0], c[1], c[2], c[3]],
            _ => [c[0], c[0], c[0], 255],
        })
        .collect();
    (px, info.width as usize)
}

fn luma(p: [u8; 4]) -> u32 {
    (299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000
}

#[test]
fn the_screenshots_are_not_blank_in_light_or_dark() {
    let repo = Repo::sample();
    records(
        &repo,
        "workflow-failure:task-sync.yml",
        "sync-failure-cascade",
    );
    let (dir, page, _) = page(&repo);
    // Blink's preferred colour scheme: 0 dark, 1 light.
    for (scheme, setting) in [("light", 1), ("dark", 0)] {
        let shot = dir.path().join(format!("{scheme}.png"));
        run_chromium(
            &page,
            &[
                format!("--screenshot={}", shot.display()),
                format!("--blink-settings=preferredColorScheme={setting}"),
            ],
        );
        let (px, width) = pixels(&shot);
        let background = px[width * 4 + 4];
        let colours: std::collections::HashSet<[u8; 4]> = px.iter().copied().collect();
        let drawn = px.iter().filter(|p| **p != background).count();
        assert!(
            colours.len() >= 64,
            "{scheme}: only {} colours",
            colours.len()
        );
        assert!(
            drawn * 100 >= px.len() * 3,
            "{scheme}: {drawn} of {} pixels differ from the background",
            px.len()
        );
        // The page follows the reader's scheme.
        match scheme {
            "light" => assert!(luma(background) > 200, "{scheme}: {background:?}"),
            _ => assert!(luma(background) < 60, "{scheme}: {background:?}"),
        }
        // The severities' colours are drawn: some strongly coloured pixels.
        let coloured = px
            .iter()
            .filter(|p| p[0].abs_diff(p[2]) > 80 || p[1].abs_diff(p[2]) > 80)
            .count();
        assert!(coloured > 500, "{scheme}: {coloured} coloured pixels");
    }
}

/// Requests the page (not the browser) made: URL requests whose network
/// isolation key is the `file://` page's.
fn page_requests(netlog: &Path) -> Vec<String> {
    let log: Value = serde_json::from_slice(&std::fs::read(netlog).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}

fn netlog_of(page: &Path) -> Vec<String> {
    let netlog = page.with_extension("netlog.json");
    run_chromium(
        page,
        &[
            "--dump-dom".to_string(),
            format!("--log-net-log={}", netlog.display()),
        ],
    );
    page_requests(&netlog)
}

/// Every attribute value in `html` after `name="`.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

#[test]
fn the_page_loads_nothing_from_the_network() {
    let repo = Repo::sample();
    // Records that try to make the page fetch something.
    records(
        &repo,
        "\"><img src=\"https://lifeline.invalid/a.png\"><style>@import url(//lifeline.invalid/s.css)</style>",
        "<link rel=stylesheet href=//lifeline.invalid/t.css>",
    );
    let (dir, page, _) = page(&repo);
    let html = std::fs::read_to_string(&page).unwrap();

    // What the page says: nothing that loads, a policy that forbids it,
    // and links only to the repository's issues and records.
    for tag in [
        "<script",
        "<img",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "<base",
        "<meta http-equiv=\"refresh",
    ] {
        assert!(!html.contains(tag), "{tag} in the page");
    }
    for loads in [
        "src",
        "srcset",
        "xlink:href",
        "action",
        "background",
        "poster",
    ] {
        assert_eq!(
            attribute_values(&html, loads),
            Vec::<&str>::new(),
            "{loads}="
        );
    }
    // CSS: the one style sheet and any style attribute fetch nothing.
    assert_eq!(html.matches("<style").count(), 1);
    let sheet = &html[html.find("<style>").unwrap()..html.find("</style>").unwrap()];
    for css in attribute_values(&html, "style").into_iter().chain([sheet]) {
        assert!(!css.contains("url("), "a CSS url() in {css}");
        assert!(!css.contains("@import"), "a CSS @import in {css}");
    }
    let hrefs = attribute_values(&html, "href");
    assert_eq!(hrefs.len(), 2, "{hrefs:?}");
    for href in hrefs {
        assert!(href.starts_with("https://github.com/acme/plan/"), "{href}");
        let tag_start = html[..html.find(href).unwrap()].rfind('<').unwrap();
        assert!(html[tag_start..].starts_with("<a "), "href outside a link");
    }
    assert!(
        html.contains("content=\"default-src 'none';"),
        "no Content-Security-Policy"
    );
    assert!(html.contains("&lt;img src=&quot;https://lifeline.invalid/a.png&quot;&gt;"));

    // What Chromium does: the page requests nothing.
    assert_eq!(netlog_of(&page), Vec::<String>::new());
    // The same check sees a page that does load something.
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><p>control</p><img src=\"https://lifeline.invalid/x.png\">",
    )
    .unwrap();
    assert_eq!(
        netlog_of(&control),
        vec!["https://lifeline.invalid/x.png".to_string()]
    );
}

#[test]
fn since_narrows_the_figures_but_not_the_open_incidents() {
    let repo = Repo::sample();
    let day = 24 * 60;
    incident(
        &repo,
        "INC-20261101T100000Z-old1",
        "P1",
        "task-file-corruption",
        [
            Some(&ago(10 * day)),
            Some(&ago(10 * day - 5)),
            Some(&ago(9 * day)),
        ],
    );
    incident(
        &repo,
        "INC-20261101T100000Z-old2",
        "P2",
        "sync-failure-cascade",
        [Some(&ago(10 * day)), Some(&ago(10 * day - 5)), None],
    );
    let report = |since: &[&str]| -> Value {
        let out = repo
            .lifeline()
            .args(["report", "--format", "json"])
            .args(since)
            .assert()
            .code(0);
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let all = report(&[]);
    assert_eq!(all["severities"][1]["incidents"], 1);
    assert!(!all["samples"].as_array().unwrap().is_empty(), "{all}");
    let recent = report(&["--since", "1d"]);
    assert_eq!(recent["severities"][1]["incidents"], 0);
    assert_eq!(recent["samples"], serde_json::json!([]));
    // Still open, however old.
    assert_eq!(
        recent["open_incidents"][0]["id"], "INC-20261101T100000Z-old2",
        "{recent}"
    );
    assert_eq!(recent["open_incidents"].as_array().unwrap().len(), 1);
    let html = stdout(
        &repo
            .lifeline()
            .args(["report", "--since", "1d", "--format", "html"])
            .assert()
            .code(0),
    );
    assert!(html.contains("INC-20261101T100000Z-old2"), "{html}");
    assert!(html.contains("nothing measured in this period"), "{html}");
}

#[test]
fn an_alert_health_opened_on_github_is_listed_with_its_issue() {
    use lifeline::github::fake::FakeGitHub;
    let repo = Repo::sample();
    // The fake repository has none of the labels and there is no
    // checkpoint: health opens an alert issue for each (P2 and P3, so it
    // still exits 0).
    let fake = FakeGitHub::start().unwrap();
    let health = || {
        repo.lifeline()
            .env("GITHUB_API_URL", fake.url())
            .env("GITHUB_TOKEN", "ghs_0123456789abcdefghijABCDEFGHIJ0123")
            .env("GITHUB_REPOSITORY", "acme/plan")
            .args(["health", "--alert", "github", "--format", "json"])
            .assert()
            .code(0);
    };
    let report = || -> Value {
        let out = repo
            .lifeline()
            .env("GITHUB_SERVER_URL", "https://github.com")
            .args(["report", "--format", "json"])
            .assert()
            .code(0);
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    health();
    let issues = fake.with(|s| s.issues.clone());
    assert!(issues.len() >= 2, "health opened {issues:?}");
    let r = report();
    let alerts = r["open_alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), issues.len(), "{r}");
    for issue in &issues {
        let n = issue["number"].as_u64().unwrap();
        let alert = alerts
            .iter()
            .find(|a| a["issue"] == n)
            .unwrap_or_else(|| panic!("issue {n} not listed: {r}"));
        assert_eq!(
            alert["url"],
            format!("https://github.com/acme/plan/issues/{n}")
        );
        assert!(alert["severity"].is_string(), "{alert}");
    }
    // A checkpoint clears the stale-checkpoint finding: health closes its
    // issue and the report no longer lists it.
    repo.checkpoint("manual", "baseline");
    health();
    let r = report();
    let open: Vec<&str> = r["open_alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["fingerprint"].as_str().unwrap())
        .collect();
    assert!(!open.contains(&"stale-checkpoint"), "{r}");
    assert_eq!(open.len(), issues.len() - 1, "{r}");
}

//! The GitHub client against the fake GitHub on loopback: pagination,
//! conditional requests, retries, rate limits, expired tokens.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifeline::github::fake::{Failure, FakeGitHub};
use lifeline::github::{ApiError, Client, ClientOptions};

/// A client for `fake` whose sleeps are recorded, not slept.
fn client(
    fake: &FakeGitHub,
    cache: Option<&std::path::Path>,
) -> (Client, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&waits);
    let client = Client::new(ClientOptions {
        api_url: fake.url().to_string(),
        token: Some("ghp_0123456789abcdefghijABCDEFGHIJ0123".into()),
        cache_dir: cache.map(|p| p.to_path_buf()),
        ..ClientOptions::default()
    })
    .with_sleeper(Arc::new(move |d| recorded.lock().unwrap().push(d)));
    (client, waits)
}

fn many_labels(fake: &FakeGitHub, n: usize) {
    fake.with(|s| {
        s.labels = (0..n)
            .map(|i| (format!("label-{i:03}"), "ffffff".to_string(), String::new()))
            .collect()
    });
}

#[test]
fn follows_every_page() {
    let fake = FakeGitHub::start().unwrap();
    many_labels(&fake, 250);
    let (client, _) = client(&fake, None);
    let labels = client
        .get_all("repos/acme/plan/labels?per_page=100", None)
        .unwrap();
    assert_eq!(labels.len(), 250);
    assert_eq!(labels[249]["name"], "label-249");
    assert_eq!(fake.log().len(), 3);
    assert!(fake.log().iter().all(|l| l.authorized));
}

#[test]
fn small_pages_are_followed_too() {
    let fake = FakeGitHub::start().unwrap();
    many_labels(&fake, 31);
    fake.with(|s| s.max_page_size = 10);
    let (client, _) = client(&fake, None);
    let labels = client
        .get_all("repos/acme/plan/labels?per_page=100", None)
        .unwrap();
    assert_eq!(labels.len(), 31);
    assert_eq!(fake.log().len(), 4);
}

#[test]
fn unchanged_answers_cost_nothing_the_second_time() {
    let fake = FakeGitHub::start().unwrap();
    many_labels(&fake, 150);
    let cache = tempfile::tempdir().unwrap();
    let (first, _) = client(&fake, Some(cache.path()));
    let cold = first
        .get_all("repos/acme/plan/labels?per_page=100", None)
        .unwrap();
    assert_eq!(fake.counted(), 2);
    // A new process (a new client) with the same cache directory.
    let (second, _) = client(&fake, Some(cache.path()));
    let warm = second
        .get_all("repos/acme/plan/labels?per_page=100", None)
        .unwrap();
    assert_eq!(warm, cold);
    assert_eq!(fake.counted(), 2, "304s must not count");
    assert_eq!(second.stats().not_modified, 2);
    // A change is seen.
    fake.with(|s| {
        s.labels
            .push(("new".into(), "000000".into(), String::new()))
    });
    let (third, _) = client(&fake, Some(cache.path()));
    let changed = third
        .get_all("repos/acme/plan/labels?per_page=100", None)
        .unwrap();
    assert_eq!(changed.len(), 151);
}

#[test]
fn server_errors_are_retried_with_growing_backoff() {
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| {
        s.failures
            .extend([Failure::ServerError(502), Failure::ServerError(503)])
    });
    let (client, waits) = client(&fake, None);
    let labels = client.get_all("repos/acme/plan/labels", None).unwrap();
    assert_eq!(labels.len(), 4);
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 2);
    assert!(
        waits[0] >= Duration::from_millis(500) && waits[0] < Duration::from_millis(1000),
        "{waits:?}"
    );
    assert!(
        waits[1] >= Duration::from_millis(1000) && waits[1] < Duration::from_millis(2000),
        "{waits:?}"
    );
    assert_eq!(client.stats().retries, 2);
}

#[test]
fn a_lasting_outage_fails_after_the_retries() {
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.failures.extend([Failure::ServerError(500); 4]));
    let (client, waits) = client(&fake, None);
    let err = client.get("repos/acme/plan/labels").unwrap_err();
    assert!(
        matches!(err, ApiError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(waits.lock().unwrap().len(), 3);
    assert_eq!(fake.log().len(), 4);
}

#[test]
fn primary_rate_limit_waits_for_the_reset_when_short() {
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.failures.push_back(Failure::RateLimit { reset_in: 20 }));
    let (client, waits) = client(&fake, None);
    client.get("repos/acme/plan/labels").unwrap();
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 1);
    assert!(
        waits[0] >= Duration::from_secs(19) && waits[0] <= Duration::from_secs(22),
        "{waits:?}"
    );
}

#[test]
fn primary_rate_limit_fails_when_the_reset_is_too_far() {
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.failures.push_back(Failure::RateLimit { reset_in: 3600 }));
    let (client, waits) = client(&fake, None);
    let err = client.get("repos/acme/plan/labels").unwrap_err();
    match err {
        ApiError::RateLimited { wait, reset, .. } => {
            assert!(wait > Duration::from_secs(3500));
            assert!(reset.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(waits.lock().unwrap().is_empty());
}

#[test]
fn secondary_rate_limit_honours_retry_after() {
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.failures.push_back(Failure::RetryAfter(7)));
    let (client, waits) = client(&fake, None);
    client.get("repos/acme/plan/labels").unwrap();
    assert_eq!(*waits.lock().unwrap(), [Duration::from_secs(7)]);
}

#[test]
fn an_expired_token_is_unauthorized_and_never_printed() {
    let fake = FakeGitHub::start().unwrap();
    fake.with(|s| s.token_expired = true);
    let (client, waits) = client(&fake, None);
    let err = client.get("repos/acme/plan/labels").unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("ghp_"));
    assert!(waits.lock().unwrap().is_empty(), "401 is not retried");
}

#[test]
fn an_unreachable_api_is_a_transport_error_after_retries() {
    // A port that was free a moment ago and that nothing listens on: the
    // listener only picks it and is closed at once (no server, the fake's
    // neither, since that one would answer).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let waits = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&waits);
    let client = Client::new(ClientOptions {
        api_url: format!("http://127.0.0.1:{port}"),
        ..ClientOptions::default()
    })
    .with_sleeper(Arc::new(move |d| recorded.lock().unwrap().push(d)));
    let err = client.get("repos/acme/plan/labels").unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert_eq!(waits.lock().unwrap().len(), 3);
}

#[test]
fn writes_send_json() {
    let fake = FakeGitHub::start().unwrap();
    let (client, _) = client(&fake, None);
    let body = serde_json::json!({"title": "Alert", "body": "x", "labels": ["alert"]});
    let created = client
        .send("POST", "repos/acme/plan/issues", Some(&body))
        .unwrap();
    assert_eq!(created.status, 201);
    assert_eq!(created.body["number"], 1);
    let open = client
        .get_all("repos/acme/plan/issues?state=open&labels=alert", None)
        .unwrap();
    assert_eq!(open.len(), 1);
    client
        .send(
            "PUT",
            "repos/acme/plan/actions/workflows/task-sync.yml/disable",
            None,
        )
        .unwrap();
    assert_eq!(fake.with(|s| s.workflows[0].1.clone()), "disabled_manually");
}

#[test]
fn a_pagination_link_to_another_host_is_never_followed() {
    // The API's own page links the next one elsewhere: that request is
    // never sent, so the token stays with the API.
    let fake = FakeGitHub::start().unwrap();
    let other = FakeGitHub::start().unwrap();
    many_labels(&fake, 40);
    many_labels(&other, 40);
    fake.with(|s| s.link_base = Some(other.url().to_string()));
    let (client, _) = client(&fake, None);
    let err = client
        .get_all("/repos/acme/plan/labels?per_page=10", None)
        .unwrap_err();
    assert!(matches!(err, ApiError::OtherOrigin { .. }), "{err:?}");
    assert_eq!(fake.log().len(), 1, "the first page came from the API");
    assert!(other.log().is_empty(), "nothing was sent to the other host");
}

#[test]
fn a_request_to_another_host_is_refused_before_it_is_sent() {
    // Whoever builds the path, the token goes to the API's host only: a
    // request (first page or any other) outside it is never sent.
    let fake = FakeGitHub::start().unwrap();
    let other = FakeGitHub::start().unwrap();
    many_labels(&other, 40);
    let (client, _) = client(&fake, None);
    let err = client
        .get_all(
            &format!("{}/repos/acme/plan/labels?per_page=10", other.url()),
            None,
        )
        .unwrap_err();
    assert!(matches!(err, ApiError::OtherOrigin { .. }), "{err:?}");
    assert!(other.log().is_empty(), "nothing was sent to the other host");
    assert!(fake.log().is_empty());
    let err = client
        .send(
            "POST",
            &format!("{}/repos/acme/plan/issues", other.url()),
            None,
        )
        .unwrap_err();
    assert!(matches!(err, ApiError::OtherOrigin { .. }), "{err:?}");
    assert!(other.log().is_empty());
}

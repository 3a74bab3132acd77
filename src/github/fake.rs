//! A fake GitHub REST API on loopback, for the test suite and for
//! `lifeline drill`: the endpoints lifeline uses, with in-memory
//! repository state, release downloads, and switches for the failures
//! GitHub produces — pagination (forever, too), ETag/304, primary and
//! secondary rate limits, 5xx bursts, expired tokens, an API that never
//! answers. It counts every request so tests can assert how many were made
//! and how many counted against the rate limit. HTTP/1.1 itself is
//! tiny_http's; this module holds the routes.

use std::collections::VecDeque;
use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One scripted failure, answered instead of the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A 5xx status.
    ServerError(u16),
    /// Primary rate limit: 403 with `x-ratelimit-remaining: 0` and a reset
    /// this many seconds ahead.
    RateLimit { reset_in: u64 },
    /// Secondary rate limit: 429 with `Retry-After`.
    RetryAfter(u64),
    /// 401 Bad credentials.
    Unauthorized,
    /// 404 Not Found (an endpoint the token cannot see).
    NotFound,
}

/// A workflow run as the fake reports it.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub id: u64,
    /// The workflow file name, e.g. `task-sync.yml`.
    pub workflow: String,
    /// `completed`, `in_progress`, `queued`.
    pub status: String,
    /// `success`, `failure`, `cancelled`, `skipped`, `timed_out`, or empty.
    pub conclusion: String,
    /// RFC 3339.
    pub created_at: String,
    pub head_sha: String,
    /// Failed job names (their conclusion is `failure`).
    pub failed_jobs: Vec<String>,
    /// The branch it ran on; empty: the default branch.
    pub branch: String,
    /// What triggered it; empty: `push`.
    pub event: String,
    /// `owner/name` of the repository the code came from; empty: this one
    /// (a fork pull request's run names the fork).
    pub head_repository: String,
}

/// The repository state behind the fake.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// (file name, state: `active` / `disabled_manually`).
    pub workflows: Vec<(String, String)>,
    pub runs: Vec<Run>,
    /// (name, color, description).
    pub labels: Vec<(String, String, String)>,
    pub issues: Vec<Value>,
    /// (issue number, comment body).
    pub comments: Vec<(u64, String)>,
    /// Scripted failures, answered in order before normal service.
    pub failures: VecDeque<Failure>,
    /// Every request answers 401 (an expired token).
    pub token_expired: bool,
    /// The largest page served, whatever `per_page` asks (GitHub: 100).
    pub max_page_size: usize,
    /// Answer `If-None-Match` with 304 when the ETag matches.
    pub etags: bool,
    /// Requests remaining in the primary rate limit.
    pub remaining: u32,
    /// The repository's default branch (`main`).
    pub default_branch: String,
    /// Who the token belongs to (`GET /user`, and the author of what it
    /// creates).
    pub login: String,
    /// The token is an app installation token (`GITHUB_TOKEN`): `GET
    /// /user` answers 403 and what it creates is by `github-actions[bot]`.
    pub app_token: bool,
    /// Sent as `GitHub-Authentication-Token-Expiration` on every answer.
    pub token_expiration: Option<String>,
    /// Every list links a next page, forever.
    pub paginate_forever: bool,
    /// The server the `Link` headers point at, when not this one (a
    /// hostile or misconfigured API sending the client elsewhere).
    pub link_base: Option<String>,
    /// Every request is read and never answered.
    pub hang: bool,
    /// The jobs of every run answer 404 (GitHub no longer keeps them).
    pub jobs_gone: bool,
    /// A POST or PATCH whose body holds one of these strings is refused
    /// with 422 (as GitHub refuses what fails its validation).
    pub refuse: Vec<String>,
    /// The author of each of `comments`, in the same order.
    pub comment_authors: Vec<String>,
    /// Files served as they are to a GET of their path, as github.com
    /// serves release assets: (`OWNER/REPO/releases/download/TAG/NAME`,
    /// bytes).
    pub downloads: Vec<(String, Vec<u8>)>,
    /// What was asked.
    pub log: Vec<Logged>,
}

/// GitHub's limit on an issue or comment body, in characters.
pub const MAX_BODY_CHARS: usize = 65_536;

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    /// Path and query.
    pub url: String,
    pub status: u16,
    /// False for 304s, which GitHub does not charge.
    pub counted: bool,
    /// The `Authorization` header was present.
    pub authorized: bool,
}

/// A running fake; stops when dropped.
pub struct FakeGitHub {
    url: String,
    server: Arc<tiny_http::Server>,
    state: Arc<Mutex<State>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    /// Starts on 127.0.0.1 on a free port, with the sample repository's
    /// workflows and labels and no runs or issues.
    pub fn start() -> std::io::Result<FakeGitHub> {
        let listener = listener()?;
        let url = format!("http://{}", listener.local_addr()?);
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None).map_err(std::io::Error::other)?,
        );
        let state = Arc::new(Mutex::new(State {
            workflows: [
                "task-sync.yml",
                "task-archive.yml",
                "auto-update-metadata.yml",
                "lifeline-emergency-recovery.yml",
            ]
            .iter()
            .map(|w| (w.to_string(), "active".to_string()))
            .collect(),
            labels: [
                ("priority/critical", "d73a4a"),
                ("priority/high", "d93f0b"),
                ("status/blocked", "d73a4a"),
                ("type/bug", "d73a4a"),
            ]
            .iter()
            .map(|(n, c)| (n.to_string(), c.to_string(), String::new()))
            .collect(),
            max_page_size: 100,
            etags: true,
            remaining: 1000,
            default_branch: "main".into(),
            login: "lifeline-bot".into(),
            ..State::default()
        }));
        let thread = {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            let base = url.clone();
            std::thread::spawn(move || {
                // Requests of an API that never answers: held, neither
                // answered nor closed, until the fake stops.
                let mut held = Vec::new();
                for request in server.incoming_requests() {
                    if state.lock().expect("fake state").hang {
                        held.push(request);
                        continue;
                    }
                    // A client that went away is no error of the fake's.
                    let _ = answer(request, &state, &base);
                }
            })
        };
        Ok(FakeGitHub {
            url,
            server,
            state,
            thread: Some(thread),
        })
    }

    /// The API base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Reads or changes the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }

    /// Every request answered so far.
    pub fn log(&self) -> Vec<Logged> {
        self.with(|s| s.log.clone())
    }

    /// `login` comments `body` on issue `number`, as a person would.
    pub fn comment_as(&self, number: u64, login: &str, body: &str) {
        self.with(|s| {
            s.comments.push((number, body.to_string()));
            s.comment_authors.push(login.to_string());
            if let Some(issue) = s.issues.iter_mut().find(|i| i["number"] == number) {
                issue["updated_at"] = json!(now());
            }
        });
    }

    /// Requests that counted against the rate limit.
    pub fn counted(&self) -> usize {
        self.with(|s| s.log.iter().filter(|l| l.counted).count())
    }
}

/// A listener on 127.0.0.1 on a free port whose connections send at once:
/// accepted sockets inherit TCP_NODELAY from the listener (Linux), so an
/// answer tiny_http writes in pieces is not held back by Nagle's algorithm
/// waiting for a delayed ACK (40 ms per answer).
fn listener() -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    rustix::net::sockopt::set_tcp_nodelay(&listener, true)?;
    Ok(listener)
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        // Ends the serving loop; the server itself stops when its last
        // handle goes.
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Reply {
    status: u16,
    body: Option<Value>,
    /// A download's bytes, sent instead of `body`.
    download: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            download: None,
            headers: Vec::new(),
        }
    }

    fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            download: None,
            headers: Vec::new(),
        }
    }

    fn download(bytes: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            body: None,
            download: Some(bytes),
            headers: Vec::new(),
        }
    }

    fn header(mut self, k: &str, v: impl Into<String>) -> Reply {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

/// The largest request body the fake reads.
const MAX_REQUEST_BODY: u64 = 16 * 1024 * 1024;

/// Answers one request.
fn answer(
    mut request: tiny_http::Request,
    state: &Mutex<State>,
    base: &str,
) -> std::io::Result<()> {
    let header = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_string())
    };
    let if_none_match = header("If-None-Match");
    let authorized = header("Authorization").is_some();
    let method = request.method().as_str().to_string();
    let url = request.url().to_string();
    let mut text = Vec::new();
    request
        .as_reader()
        .take(MAX_REQUEST_BODY)
        .read_to_end(&mut text)?;
    let body: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
    let reply = serve(
        &method,
        &url,
        if_none_match.as_deref(),
        authorized,
        &body,
        state,
        base,
    );
    let content_type = match reply.download {
        Some(_) => "application/octet-stream",
        None => "application/json",
    };
    let data = match (reply.download, reply.body) {
        (Some(bytes), _) => bytes,
        (None, body) => body.map(|b| b.to_string()).unwrap_or_default().into_bytes(),
    };
    let mut response = tiny_http::Response::from_data(data)
        .with_status_code(reply.status)
        // Content-Length framing, as GitHub answers these requests.
        .with_chunked_threshold(usize::MAX);
    let headers = std::iter::once(("Content-Type".to_string(), content_type.to_string()))
        .chain(reply.headers);
    for (k, v) in headers {
        // Every header the fake sends is ASCII.
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    request.respond(response)
}

/// The reply to one request, with the bookkeeping: ETags and 304s, the
/// rate limit, the request log.
fn serve(
    method: &str,
    url: &str,
    if_none_match: Option<&str>,
    authorized: bool,
    body: &Value,
    state: &Mutex<State>,
    base: &str,
) -> Reply {
    let mut st = state.lock().expect("fake state");
    let mut reply = if let Some(failure) = st.failures.pop_front() {
        failure_reply(&failure)
    } else if st.token_expired {
        Reply::json(401, json!({"message": "Bad credentials"}))
    } else {
        route(&mut st, method, url, body, base)
    };
    // ETags on successful GETs; a match answers 304 and costs nothing.
    let mut counted = true;
    if method == "GET"
        && reply.status == 200
        && st.etags
        && let Some(b) = &reply.body
    {
        let etag = format!(
            "\"{}\"",
            hex::encode(Sha256::digest(b.to_string().as_bytes()))
        );
        if if_none_match == Some(etag.as_str()) {
            let links: Vec<_> = reply
                .headers
                .iter()
                .filter(|(k, _)| k == "Link")
                .cloned()
                .collect();
            reply = Reply::empty(304);
            reply.headers = links;
            counted = false;
        }
        reply = reply.header("ETag", etag);
    }
    if counted && reply.status != 401 && !(reply.status == 403 || reply.status == 429) {
        st.remaining = st.remaining.saturating_sub(1);
    }
    let remaining = st.remaining;
    if let Some(expires) = &st.token_expiration {
        reply = reply.header("GitHub-Authentication-Token-Expiration", expires.clone());
    }
    st.log.push(Logged {
        method: method.to_string(),
        url: url.to_string(),
        status: reply.status,
        counted,
        authorized,
    });
    drop(st);
    if !reply
        .headers
        .iter()
        .any(|(k, _)| k == "x-ratelimit-remaining")
    {
        reply = reply
            .header("x-ratelimit-limit", "1000")
            .header("x-ratelimit-remaining", remaining.to_string());
    }
    reply
}

fn failure_reply(failure: &Failure) -> Reply {
    match failure {
        Failure::ServerError(status) => Reply::json(*status, json!({"message": "Server Error"})),
        Failure::RateLimit { reset_in } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            Reply::json(403, json!({"message": "API rate limit exceeded"}))
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", (now + reset_in).to_string())
        }
        Failure::RetryAfter(secs) => Reply::json(
            429,
            json!({"message": "You have exceeded a secondary rate limit"}),
        )
        .header("Retry-After", secs.to_string()),
        Failure::Unauthorized => Reply::json(401, json!({"message": "Bad credentials"})),
        Failure::NotFound => not_found(),
    }
}

fn route(st: &mut State, method: &str, url: &str, body: &Value, base: &str) -> Reply {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    if method == "GET"
        && let Some((_, bytes)) = st
            .downloads
            .iter()
            .find(|(p, _)| p == path.trim_start_matches('/'))
    {
        return Reply::download(bytes.clone());
    }
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| decode(v))
    };
    let decoded: Vec<String> = path.trim_matches('/').split('/').map(decode).collect();
    let parts: Vec<&str> = decoded.iter().map(String::as_str).collect();
    if parts.first() == Some(&"rate_limit") {
        return Reply::json(
            200,
            json!({"resources": {"core": {"limit": 1000, "remaining": st.remaining}}}),
        );
    }
    if parts == ["user"] {
        return if st.app_token {
            Reply::json(
                403,
                json!({"message": "Resource not accessible by integration"}),
            )
        } else {
            Reply::json(200, json!({"login": st.login, "type": "User"}))
        };
    }
    if parts.len() < 3 || parts[0] != "repos" {
        return not_found();
    }
    let rest = &parts[3..];
    let too_long = body["body"]
        .as_str()
        .is_some_and(|b| b.chars().count() > MAX_BODY_CHARS);
    let refused = st
        .refuse
        .iter()
        .any(|r| body.to_string().contains(r.as_str()));
    if (method == "POST" || method == "PATCH") && (too_long || refused) {
        return Reply::json(
            422,
            json!({"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)"}]}),
        );
    }
    let author = if st.app_token {
        "github-actions[bot]".to_string()
    } else {
        st.login.clone()
    };
    match (method, rest) {
        ("GET", []) => Reply::json(
            200,
            json!({"full_name": format!("{}/{}", parts[1], parts[2]), "default_branch": st.default_branch}),
        ),
        ("GET", ["actions", "workflows"]) => {
            let list: Vec<Value> = st
                .workflows
                .iter()
                .enumerate()
                .map(|(i, (file, state))| workflow_json(i, file, state))
                .collect();
            Reply::json(200, json!({"total_count": list.len(), "workflows": list}))
        }
        ("GET", ["actions", "workflows", id]) => match find_workflow(st, id) {
            Some(i) => {
                let (file, state) = &st.workflows[i];
                Reply::json(200, workflow_json(i, file, state))
            }
            None => not_found(),
        },
        ("PUT", ["actions", "workflows", id, action @ ("disable" | "enable")]) => {
            match find_workflow(st, id) {
                Some(i) => {
                    st.workflows[i].1 = if *action == "disable" {
                        "disabled_manually".into()
                    } else {
                        "active".into()
                    };
                    Reply::empty(204)
                }
                None => not_found(),
            }
        }
        ("GET", ["actions", "workflows", id, "runs"]) => {
            let Some(i) = find_workflow(st, id) else {
                return not_found();
            };
            let file = st.workflows[i].0.clone();
            let mut runs: Vec<&Run> = st.runs.iter().filter(|r| r.workflow == file).collect();
            runs.sort_by(|a, b| b.created_at.cmp(&a.created_at));
            if let Some(since) = param("created").and_then(|c| {
                c.strip_prefix("%3E%3D")
                    .or(c.strip_prefix(">="))
                    .map(str::to_string)
            }) {
                runs.retain(|r| r.created_at >= since);
            }
            let default_branch = st.default_branch.clone();
            let branch_of = |r: &Run| {
                if r.branch.is_empty() {
                    default_branch.clone()
                } else {
                    r.branch.clone()
                }
            };
            if let Some(branch) = param("branch") {
                runs.retain(|r| branch_of(r) == branch);
            }
            if let Some(event) = param("event") {
                runs.retain(|r| r.event == event || r.event.is_empty() && event == "push");
            }
            let items: Vec<Value> = runs
                .iter()
                .map(|r| run_json(r, i, base, &parts, &branch_of(r)))
                .collect();
            page(st, items, &param, base, path, query, Some("workflow_runs"))
        }
        ("GET", ["actions", "runs", id, "jobs"]) => {
            let Some(run) = st.runs.iter().find(|r| r.id.to_string() == *id) else {
                return not_found();
            };
            if st.jobs_gone {
                return not_found();
            }
            let jobs: Vec<Value> = run
                .failed_jobs
                .iter()
                .map(|name| json!({"name": name, "status": "completed", "conclusion": "failure"}))
                .collect();
            Reply::json(200, json!({"total_count": jobs.len(), "jobs": jobs}))
        }
        ("GET", ["labels"]) => {
            let items: Vec<Value> = st
                .labels
                .iter()
                .map(|(n, c, d)| json!({"name": n, "color": c, "description": d}))
                .collect();
            page(st, items, &param, base, path, query, None)
        }
        ("GET", ["issues"]) => {
            let want_state = param("state").unwrap_or_else(|| "open".into());
            let want_labels: Vec<String> = param("labels")
                .map(|l| l.split(',').map(|s| s.replace("%2F", "/")).collect())
                .unwrap_or_default();
            let items: Vec<Value> = st
                .issues
                .iter()
                .filter(|i| want_state == "all" || i["state"] == want_state.as_str())
                .filter(|i| {
                    want_labels.iter().all(|w| {
                        i["labels"]
                            .as_array()
                            .is_some_and(|ls| ls.iter().any(|l| l["name"] == w.as_str()))
                    })
                })
                .cloned()
                .collect();
            page(st, items, &param, base, path, query, None)
        }
        ("POST", ["issues"]) => {
            let number = st.issues.len() as u64 + 1;
            let labels: Vec<Value> = body["labels"]
                .as_array()
                .map(|ls| ls.iter().map(|l| json!({"name": l})).collect())
                .unwrap_or_default();
            let issue = json!({
                "number": number,
                "user": {"login": author},
                "title": body["title"],
                "body": body["body"],
                "state": "open",
                "labels": labels,
                "assignees": body["assignees"],
                "html_url": format!("{base}/{}/{}/issues/{number}", parts[1], parts[2]),
                "created_at": now(),
                "updated_at": now(),
            });
            st.issues.push(issue.clone());
            Reply::json(201, issue)
        }
        ("PATCH", ["issues", n]) => {
            let number = n.parse::<u64>().unwrap_or(0);
            let Some(issue) = st.issues.iter_mut().find(|i| i["number"] == number) else {
                return not_found();
            };
            for key in ["state", "body", "title"] {
                if let Some(v) = body.get(key) {
                    issue[key] = v.clone();
                }
            }
            issue["updated_at"] = json!(now());
            Reply::json(200, issue.clone())
        }
        ("POST", ["issues", n, "comments"]) => {
            let Ok(number) = n.parse::<u64>() else {
                return not_found();
            };
            if !st.issues.iter().any(|i| i["number"] == number) {
                return not_found();
            }
            let text = body["body"].as_str().unwrap_or_default().to_string();
            st.comments.push((number, text.clone()));
            st.comment_authors.push(author);
            if let Some(issue) = st.issues.iter_mut().find(|i| i["number"] == number) {
                issue["updated_at"] = json!(now());
            }
            Reply::json(201, json!({"id": st.comments.len(), "body": text}))
        }
        ("GET", ["issues", n, "comments"]) => {
            let items: Vec<Value> = st
                .comments
                .iter()
                .zip(st.comment_authors.iter())
                .enumerate()
                .filter(|(_, ((i, _), _))| i.to_string() == *n)
                .map(|(k, ((_, b), who))| json!({"id": k + 1, "body": b, "user": {"login": who}}))
                .collect();
            page(st, items, &param, base, path, query, None)
        }
        _ => not_found(),
    }
}

/// A percent-decoded path segment or query value.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

fn not_found() -> Reply {
    Reply::json(404, json!({"message": "Not Found"}))
}

fn find_workflow(st: &State, id: &str) -> Option<usize> {
    st.workflows
        .iter()
        .position(|(file, _)| file == id)
        .or_else(|| {
            id.parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1000))
                .filter(|i| *i < st.workflows.len())
        })
}

fn workflow_json(i: usize, file: &str, state: &str) -> Value {
    json!({
        "id": 1000 + i,
        "name": file.trim_end_matches(".yml"),
        "path": format!(".github/workflows/{file}"),
        "state": state,
    })
}

fn run_json(run: &Run, workflow: usize, base: &str, parts: &[&str], branch: &str) -> Value {
    let this = format!("{}/{}", parts[1], parts[2]);
    let head = if run.head_repository.is_empty() {
        this.clone()
    } else {
        run.head_repository.clone()
    };
    json!({
        "head_branch": branch,
        "event": if run.event.is_empty() { "push" } else { run.event.as_str() },
        "head_repository": {"full_name": head, "fork": head != this},
        "repository": {"full_name": this},
        "id": run.id,
        "workflow_id": 1000 + workflow,
        "name": run.workflow.trim_end_matches(".yml"),
        "path": format!(".github/workflows/{}", run.workflow),
        "status": run.status,
        "conclusion": if run.conclusion.is_empty() { Value::Null } else { json!(run.conclusion) },
        "created_at": run.created_at,
        "head_sha": run.head_sha,
        "html_url": format!("{base}/{}/{}/actions/runs/{}", parts[1], parts[2], run.id),
    })
}

/// One page of `items`, with a `Link` header when there are more.
fn page(
    st: &State,
    items: Vec<Value>,
    param: &dyn Fn(&str) -> Option<String>,
    base: &str,
    path: &str,
    query: &str,
    key: Option<&str>,
) -> Reply {
    let per_page = param("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, st.max_page_size.max(1));
    let page_no = param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page_no - 1) * per_page)
        .take(per_page)
        .collect();
    let body = match key {
        Some(k) => json!({"total_count": total, k: slice}),
        None => Value::Array(slice),
    };
    let mut reply = Reply::json(200, body);
    if page_no < last || st.paginate_forever {
        let others: Vec<&str> = query
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("page="))
            .collect();
        let mut q = others.join("&");
        if !q.is_empty() {
            q.push('&');
        }
        let base = st.link_base.as_deref().unwrap_or(base);
        let link = |n: usize| format!("<{base}{path}?{q}page={n}>");
        reply = reply.header(
            "Link",
            format!(
                "{}; rel=\"next\", {}; rel=\"last\"",
                link(page_no + 1),
                link(last)
            ),
        );
    }
    reply
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    #[test]
    fn accepted_connections_have_nagle_off() {
        let listener = super::listener().unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}

//! A small, careful GitHub REST client: pagination by `Link` header,
//! conditional requests through an ETag cache, retries with exponential
//! backoff and jitter on 5xx and transport errors, and the two rate limits
//! GitHub documents (primary: `x-ratelimit-remaining: 0` until
//! `x-ratelimit-reset`; secondary: `Retry-After`).
//!
//! It is blocking on purpose: lifeline makes a handful of requests per run,
//! and a blocking client needs no async runtime (see `Cargo.toml`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::cache::EtagCache;

/// The API version lifeline is written against.
pub const API_VERSION: &str = "2022-11-28";

/// Default API base.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The rate limit is exhausted and resets later than lifeline may wait.
    #[error("GitHub API rate limit exhausted; it resets in {}s (more than --max-wait {}s)", wait.as_secs(), max_wait.as_secs())]
    RateLimited {
        /// How long until the limit resets (or `Retry-After`).
        wait: Duration,
        max_wait: Duration,
        /// The `x-ratelimit-reset` time (Unix seconds), when given.
        reset: Option<u64>,
    },
    /// 401: the token is missing, expired or invalid.
    #[error("GitHub answered 401 Unauthorized for {path}: the token is expired or invalid")]
    Unauthorized { path: String },
    /// Any other unsuccessful status.
    #[error("GitHub answered {status} for {method} {path}: {message}")]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    /// No answer: connection refused, timeout, TLS.
    #[error("cannot reach the GitHub API at {url}: {message}")]
    Transport { url: String, message: String },
    /// A 2xx answer that is not the JSON expected.
    #[error("GitHub's answer to {path} is not valid JSON: {message}")]
    Decode { path: String, message: String },
    /// The overall deadline passed before the request could finish.
    #[error("gave up on {path}: the time allowed for talking to GitHub ran out")]
    Deadline { path: String },
    /// A list that did not end within the page limit.
    #[error("gave up on {path} after {pages} pages: the list did not end")]
    TooManyPages { path: String, pages: u32 },
    /// A request (or a pagination link) to somewhere other than the API's
    /// scheme, host and port: never sent, so the token never leaves.
    #[error("refused to send a request outside {api}: {url}")]
    OtherOrigin { api: String, url: String },
}

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// API base URL, without a trailing slash.
    pub api_url: String,
    /// Sent as `Authorization: Bearer …`; never printed.
    pub token: Option<String>,
    /// The longest lifeline waits for a rate limit to reset.
    pub max_wait: Duration,
    /// Retries after a 5xx or transport error.
    pub retries: u32,
    /// First backoff delay; doubles each retry, plus up to as much jitter.
    pub backoff: Duration,
    /// Where ETags and bodies are cached (`.lifeline/cache/github`).
    pub cache_dir: Option<PathBuf>,
    /// Per-request time limit (connecting, sending and reading the answer).
    pub timeout: Duration,
    /// Nothing is sent or waited for after this instant: every request,
    /// retry and rate-limit wait ends by then (`health --timeout`).
    pub deadline: Option<Instant>,
    /// The most pages one list is followed for.
    pub max_pages: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            api_url: DEFAULT_API_URL.to_string(),
            token: None,
            max_wait: Duration::from_secs(60),
            retries: 3,
            backoff: Duration::from_millis(500),
            cache_dir: None,
            timeout: Duration::from_secs(30),
            deadline: None,
            max_pages: 50,
        }
    }
}

/// What the client did, for reports and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// HTTP requests sent.
    pub requests: u32,
    /// Of those, answered 304 from the cache (free under the rate limit).
    pub not_modified: u32,
    /// Retries after 5xx / transport errors.
    pub retries: u32,
    /// Waits for a rate limit or `Retry-After`.
    pub rate_limit_waits: u32,
    /// Total time spent waiting (backoff and rate limits).
    pub waited_ms: u64,
}

/// Sleeps; tests substitute one that records instead of sleeping.
pub type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// A GitHub REST client.
pub struct Client {
    agent: ureq::Agent,
    options: ClientOptions,
    cache: Option<EtagCache>,
    sleeper: Sleeper,
    stats: Mutex<Stats>,
    /// The `GitHub-Authentication-Token-Expiration` header last seen.
    token_expiration: Mutex<Option<String>>,
}

/// One successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    /// The `rel="next"` URL of the `Link` header.
    pub next: Option<String>,
}

impl Client {
    pub fn new(options: ClientOptions) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .user_agent(concat!("lifeline/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let cache = options.cache_dir.clone().map(EtagCache::new);
        Client {
            agent,
            options,
            cache,
            sleeper: Arc::new(std::thread::sleep),
            stats: Mutex::new(Stats::default()),
            token_expiration: Mutex::new(None),
        }
    }

    /// Replaces the sleep function (tests record the waits instead).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Client {
        self.sleeper = sleeper;
        self
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().expect("stats lock").clone()
    }

    /// When the token expires, as GitHub said in the
    /// `GitHub-Authentication-Token-Expiration` header (for example
    /// `2026-12-01 10:00:00 UTC`); `None` for tokens that do not expire or
    /// before any answer.
    pub fn token_expiration(&self) -> Option<String> {
        self.token_expiration
            .lock()
            .expect("expiration lock")
            .clone()
    }

    pub fn api_url(&self) -> &str {
        &self.options.api_url
    }

    /// GET `path` (relative to the API base, or a full URL from a `Link`
    /// header), conditional when cached.
    pub fn get(&self, path: &str) -> Result<Answer, ApiError> {
        self.request("GET", path, None)
    }

    /// GET every page of a list endpoint, following `Link: rel="next"`.
    /// `key` names the array inside an object answer
    /// (`{"workflow_runs": [...]}`); `None` for endpoints that answer an
    /// array. A list longer than `max_pages` pages is an error, never a
    /// loop.
    pub fn get_all(&self, path: &str, key: Option<&str>) -> Result<Vec<Value>, ApiError> {
        self.get_pages(path, key, |_| false)
    }

    /// Like [`Client::get_all`], but stops after the page on which `enough`
    /// (given everything read so far) first says so.
    pub fn get_pages(
        &self,
        path: &str,
        key: Option<&str>,
        enough: impl Fn(&[Value]) -> bool,
    ) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        // A server that links back to a page it served never ends its
        // list: the list is unread, never taken as complete.
        let mut seen = std::collections::HashSet::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            if !seen.insert(self.url_for(&url)) || pages >= self.options.max_pages {
                return Err(ApiError::TooManyPages {
                    path: path.to_string(),
                    pages,
                });
            }
            pages += 1;
            let answer = self.get(&url)?;
            if let Some(next) = &answer.next
                && !self.same_origin(next)
            {
                // The token must never go to another host.
                return Err(self.other_origin(next));
            }
            let list = match key {
                Some(k) => answer.body.get(k).cloned().unwrap_or(Value::Null),
                None => answer.body,
            };
            match list {
                Value::Array(page) => items.extend(page),
                Value::Null => {}
                other => {
                    return Err(ApiError::Decode {
                        path: url,
                        message: format!("expected a list, got {}", kind_of(&other)),
                    });
                }
            }
            if !enough(&items) {
                next = answer.next;
            }
        }
        Ok(items)
    }

    /// POST, PATCH, PUT or DELETE with an optional JSON body.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, ApiError> {
        self.request(method, path, body)
    }

    /// True when `url` is on the API's scheme, host and port.
    fn same_origin(&self, url: &str) -> bool {
        fn origin(u: &str) -> &str {
            let after = u.find("://").map_or(0, |i| i + 3);
            let end = u[after..].find('/').map_or(u.len(), |i| after + i);
            &u[..end]
        }
        !url.contains("://") || origin(url).eq_ignore_ascii_case(origin(&self.options.api_url))
    }

    fn url_for(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!(
                "{}/{}",
                self.options.api_url.trim_end_matches('/'),
                path.trim_start_matches('/')
            )
        }
    }

    /// The error for a request to `url`, outside the API.
    fn other_origin(&self, url: &str) -> ApiError {
        ApiError::OtherOrigin {
            api: self.options.api_url.clone(),
            url: crate::redact::redact(url).into_owned(),
        }
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answer, ApiError> {
        // Every request passes here: whoever built the path, the token
        // goes to the API's own scheme, host and port only.
        if !self.same_origin(path) {
            return Err(self.other_origin(path));
        }
        let url = self.url_for(path);
        let cached = match (&self.cache, method) {
            (Some(cache), "GET") => cache.get(&url),
            _ => None,
        };
        let mut attempt = 0;
        let mut rate_waits = 0;
        loop {
            let limit = self.time_left(path)?;
            let mut req = ureq::http::Request::builder()
                .method(method)
                .uri(&url)
                .header(
                    "Accept",
                    "application/vnd.github+json, application/json;q=0.9",
                )
                .header("X-GitHub-Api-Version", API_VERSION);
            if let Some(token) = &self.options.token {
                req = req.header("Authorization", format!("Bearer {token}"));
            }
            if let Some(entry) = &cached {
                req = req.header("If-None-Match", entry.etag.as_str());
            }
            // Every body lifeline sends (alert issues, comments) is redacted
            // here, whoever built it.
            let payload = body
                .map(|b| crate::redact::redact(&b.to_string()).into_owned())
                .unwrap_or_default();
            if body.is_some() {
                req = req.header("Content-Type", "application/json");
            }
            let req = req.body(payload).map_err(|e| ApiError::Transport {
                url: url.clone(),
                message: e.to_string(),
            })?;
            let req = self
                .agent
                .configure_request(req)
                .timeout_global(Some(limit))
                .build();
            self.bump(|s| s.requests += 1);
            let response = match self.agent.run(req) {
                Ok(r) => r,
                Err(e) => {
                    // A POST that got no answer may have been carried out:
                    // sending it again could open a second issue.
                    if attempt < self.options.retries && method != "POST" {
                        attempt += 1;
                        self.backoff(attempt, path)?;
                        continue;
                    }
                    return Err(ApiError::Transport {
                        url: crate::redact::redact(&url).into_owned(),
                        message: crate::redact::redact(&e.to_string()).into_owned(),
                    });
                }
            };
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let etag = header("etag");
            let link = header("link");
            let remaining = header("x-ratelimit-remaining");
            let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok());
            let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok());
            if let Some(expires) = header("github-authentication-token-expiration") {
                *self.token_expiration.lock().expect("expiration lock") = Some(expires);
            }
            let mut response = response;
            let text = match response
                .body_mut()
                .with_config()
                .limit(64 * 1024 * 1024)
                .read_to_string()
            {
                Ok(text) => text,
                // A body cut off by the time limit is no answer at all.
                Err(e) if (200..300).contains(&status) => {
                    return Err(ApiError::Transport {
                        url: crate::redact::redact(&url).into_owned(),
                        message: crate::redact::redact(&e.to_string()).into_owned(),
                    });
                }
                Err(_) => String::new(),
            };

            if status == 304
                && let Some(entry) = &cached
            {
                self.bump(|s| s.not_modified += 1);
                let body = serde_json::from_str(&entry.body).unwrap_or(Value::Null);
                return Ok(Answer {
                    status: 200,
                    body,
                    next: entry.link.as_deref().and_then(next_link),
                });
            }
            if (200..300).contains(&status) {
                let body = if text.trim().is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&text).map_err(|e| ApiError::Decode {
                        path: path.to_string(),
                        message: e.to_string(),
                    })?
                };
                if let (Some(cache), "GET", Some(etag)) = (&self.cache, method, etag) {
                    cache.put(&url, &etag, link.as_deref(), &text);
                }
                return Ok(Answer {
                    status,
                    body,
                    next: link.as_deref().and_then(next_link),
                });
            }
            if status == 401 {
                return Err(ApiError::Unauthorized {
                    path: path.to_string(),
                });
            }
            if status == 403 || status == 429 {
                let wait = if remaining.as_deref() == Some("0") {
                    Some(until(reset.unwrap_or(0)))
                } else {
                    retry_after.map(Duration::from_secs)
                };
                if let Some(wait) = wait {
                    if wait <= self.options.max_wait && rate_waits < 3 && self.fits(wait) {
                        rate_waits += 1;
                        self.bump(|s| {
                            s.rate_limit_waits += 1;
                            s.waited_ms += wait.as_millis() as u64;
                        });
                        (self.sleeper)(wait);
                        continue;
                    }
                    return Err(ApiError::RateLimited {
                        wait,
                        max_wait: self.options.max_wait,
                        reset,
                    });
                }
            }
            if status >= 500 && attempt < self.options.retries {
                attempt += 1;
                self.backoff(attempt, path)?;
                continue;
            }
            return Err(ApiError::Status {
                method: method.to_string(),
                path: path.to_string(),
                status,
                message: crate::redact::redact(&message_of(&text)).into_owned(),
            });
        }
    }

    /// The time limit for the next request: the per-request timeout, cut
    /// to what is left before the deadline; an error once it has passed.
    fn time_left(&self, path: &str) -> Result<Duration, ApiError> {
        let Some(deadline) = self.options.deadline else {
            return Ok(self.options.timeout);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.deadline_error(path));
        }
        Ok(left.min(self.options.timeout))
    }

    fn deadline_error(&self, path: &str) -> ApiError {
        ApiError::Deadline {
            path: crate::redact::redact(path).into_owned(),
        }
    }

    /// True when waiting `wait` still ends before the deadline.
    fn fits(&self, wait: Duration) -> bool {
        self.options
            .deadline
            .is_none_or(|d| Instant::now() + wait < d)
    }

    /// Exponential backoff with full jitter: base·2^(n-1) plus up to as much
    /// again; an error when the wait would pass the deadline.
    fn backoff(&self, attempt: u32, path: &str) -> Result<(), ApiError> {
        let base = self.options.backoff * 2u32.saturating_pow(attempt - 1);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as u64);
        let jitter = Duration::from_nanos(nanos % (base.as_nanos() as u64).max(1));
        let wait = base + jitter;
        if !self.fits(wait) {
            return Err(self.deadline_error(path));
        }
        self.bump(|s| {
            s.retries += 1;
            s.waited_ms += wait.as_millis() as u64;
        });
        (self.sleeper)(wait);
        Ok(())
    }

    fn bump(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.stats.lock().expect("stats lock"));
    }
}

/// Time from now until Unix time `reset`, plus a second of slack.
fn until(reset: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Duration::from_secs(reset.saturating_sub(now) + 1)
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        is_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

fn message_of(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| text.chars().take(200).collect())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        let h = r#"<https://api.github.com/repositories/1/labels?page=2>; rel="next", <https://api.github.com/repositories/1/labels?page=5>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repositories/1/labels?page=2")
        );
        assert_eq!(next_link(r#"<x>; rel="prev""#), None);
    }
}

//! Talking to GitHub: the REST client, which repository and token to use,
//! and a fake GitHub for tests and drills.

pub(crate) mod cache;
pub mod client;
pub mod fake;
pub(crate) mod markdown;

pub use client::{Answer, ApiError, Client, ClientOptions, Stats};

use crate::ci::Env;
use crate::git::Git;

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl std::str::FromStr for RepoName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().trim_end_matches(".git");
        match s.split_once('/') {
            Some((owner, name))
                if !owner.is_empty()
                    && !name.is_empty()
                    && !name.contains('/')
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) =>
            {
                Ok(RepoName {
                    owner: owner.to_string(),
                    name: name.to_string(),
                })
            }
            _ => Err(format!("`{s}` is not a repository name like `owner/name`")),
        }
    }
}

impl RepoName {
    /// The repository from `--repo`, else `GITHUB_REPOSITORY`, else the
    /// configured one, else the `origin` remote's URL.
    pub fn resolve(
        flag: Option<&str>,
        env: &dyn Env,
        configured: Option<&str>,
        git: Option<&Git>,
    ) -> Result<RepoName, String> {
        if let Some(r) = flag {
            return r.parse();
        }
        if let Some(r) = env.var("GITHUB_REPOSITORY") {
            return r.parse();
        }
        if let Some(r) = configured {
            return r.parse();
        }
        let url = git
            .and_then(|g| g.config_value("remote.origin.url"))
            .ok_or_else(|| {
                "no repository: pass --repo owner/name, set GITHUB_REPOSITORY, or add an `origin` remote".to_string()
            })?;
        from_remote_url(&url).ok_or_else(|| {
            format!(
                "cannot tell the GitHub repository from the origin URL `{}`",
                crate::redact::redact(&url)
            )
        })
    }

    /// `repos/owner/name`.
    pub fn api_path(&self) -> String {
        format!("repos/{}/{}", self.owner, self.name)
    }
}

/// `text` percent-encoded for one URL path segment or query value:
/// everything but unreserved characters (RFC 3986) is escaped, so a
/// branch or workflow file name cannot add a path segment or parameter.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `owner/name` from `https://github.com/owner/name(.git)`,
/// `git@github.com:owner/name.git` or `ssh://git@host/owner/name`.
pub fn from_remote_url(url: &str) -> Option<RepoName> {
    let rest = if let Some((_, path)) = url.split_once("://") {
        path.split_once('/')?.1
    } else {
        url.split_once(':')?.1
    };
    let mut parts: Vec<&str> = rest.trim_end_matches('/').rsplitn(3, '/').collect();
    parts.truncate(2);
    parts.reverse();
    parts.join("/").parse().ok()
}

/// The token from `GITHUB_TOKEN`, else `GH_TOKEN`.
pub fn token(env: &dyn Env) -> Option<String> {
    env.var("GITHUB_TOKEN").or_else(|| env.var("GH_TOKEN"))
}

/// The API base: `GITHUB_API_URL`, else the configured one, else
/// api.github.com.
pub fn api_url(env: &dyn Env, configured: Option<&str>) -> String {
    env.var("GITHUB_API_URL")
        .or_else(|| configured.map(str::to_string))
        .unwrap_or_else(|| client::DEFAULT_API_URL.to_string())
        .trim_end_matches('/')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls() {
        for url in [
            "https://github.com/acme/planning.git",
            "https://x-access-token:abc@github.com/acme/planning",
            "git@github.com:acme/planning.git",
            "ssh://git@github.example.com/acme/planning",
        ] {
            assert_eq!(
                from_remote_url(url).unwrap().to_string(),
                "acme/planning",
                "{url}"
            );
        }
        assert!(from_remote_url("/tmp/origin.git").is_none());
    }

    #[test]
    fn components_cannot_add_segments_or_parameters() {
        assert_eq!(encode_component("main"), "main");
        assert_eq!(
            encode_component("a/b?c=d&e #f -->"),
            "a%2Fb%3Fc%3Dd%26e%20%23f%20--%3E"
        );
    }

    #[test]
    fn resolution_order() {
        let env = [("GITHUB_REPOSITORY", "env/repo")];
        assert_eq!(
            RepoName::resolve(Some("flag/repo"), &env, None, None)
                .unwrap()
                .to_string(),
            "flag/repo"
        );
        assert_eq!(
            RepoName::resolve(None, &env, Some("cfg/repo"), None)
                .unwrap()
                .to_string(),
            "env/repo"
        );
        assert_eq!(
            RepoName::resolve(None, &[("X", "")], Some("cfg/repo"), None)
                .unwrap()
                .to_string(),
            "cfg/repo"
        );
        assert!(RepoName::resolve(None, &[("X", "")], None, None).is_err());
        assert!("nope".parse::<RepoName>().is_err());
    }
}

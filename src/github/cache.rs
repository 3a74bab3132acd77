//! The ETag cache behind conditional requests: for each GET URL, the last
//! `ETag`, `Link` header and body. A 304 answer is served from here and
//! does not count against GitHub's rate limit.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One cached answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CachedAnswer {
    pub url: String,
    pub etag: String,
    pub link: Option<String>,
    pub body: String,
}

/// A directory of cached answers, one file per URL (named by its SHA-256).
/// A damaged or foreign entry is ignored: the cache is an optimisation,
/// never a source of truth.
#[derive(Debug, Clone)]
pub(crate) struct EtagCache {
    dir: PathBuf,
}

impl EtagCache {
    pub(crate) fn new(dir: PathBuf) -> EtagCache {
        EtagCache { dir }
    }

    fn file(&self, url: &str) -> PathBuf {
        let digest = Sha256::digest(url.as_bytes());
        self.dir.join(format!("{}.json", hex::encode(digest)))
    }

    pub(crate) fn get(&self, url: &str) -> Option<CachedAnswer> {
        let bytes = std::fs::read(self.file(url)).ok()?;
        let entry: CachedAnswer = serde_json::from_slice(&bytes).ok()?;
        (entry.url == url).then_some(entry)
    }

    /// Stores an answer; failures are ignored (the next run asks again).
    /// Written by rename so a reader never sees half an entry, but not
    /// fsynced: losing the cache in a crash only costs a full request.
    pub(crate) fn put(&self, url: &str, etag: &str, link: Option<&str>, body: &str) {
        let entry = CachedAnswer {
            url: url.to_string(),
            etag: etag.to_string(),
            link: link.map(str::to_string),
            body: body.to_string(),
        };
        let Ok(bytes) = serde_json::to_vec(&entry) else {
            return;
        };
        let _ = std::fs::create_dir_all(&self.dir);
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(&self.dir) {
            use std::io::Write;
            if tmp.write_all(&bytes).is_ok() {
                let _ = tmp.persist(self.file(url));
            }
        }
    }
}

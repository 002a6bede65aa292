//! Where the store lives: the configuration and how its URL is resolved.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The SQLite file used when `url` is empty.
pub const DEFAULT_SQLITE_FILE: &str = "quarry.db";

/// Where conversations, feedback and the audit log are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Database URL: empty = SQLite file `quarry.db` in the data directory; `sqlite://PATH`
    /// (a relative PATH is taken from the data directory) or `postgres://USER:PASSWORD@HOST/DB`.
    pub url: String,
    /// Most connections in the pool.
    pub max_connections: u32,
    /// How long to wait for a connection, ms.
    pub acquire_timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { url: String::new(), max_connections: 8, acquire_timeout_ms: 5000 }
    }
}

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A Postgres server.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A URL resolved from the configuration, ready to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A SQLite file; `url` opens it, creating it if missing.
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The connection URL.
        url: String,
    },
    /// A Postgres server.
    Postgres {
        /// The connection URL as configured.
        url: String,
    },
}

impl Target {
    /// Resolves `url` (see [`StoreConfig::url`]) against the data directory.
    pub(crate) fn resolve(url: &str, data_dir: &Path) -> Result<Target> {
        let url = url.trim();
        let invalid = |reason: &str| Error::InvalidUrl { url: mask_password(url), reason: reason.to_owned() };
        if url.is_empty() {
            return Target::sqlite(data_dir.join(DEFAULT_SQLITE_FILE), None);
        }
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let (path, query) = match rest.split_once('?') {
                Some((path, query)) => (path, Some(query)),
                None => (rest, None),
            };
            if path.is_empty() || path == ":memory:" || query.is_some_and(|q| q.contains("mode=memory")) {
                return Err(invalid(
                    "an in-memory SQLite database would lose every conversation on restart; give a file path",
                ));
            }
            let path = percent_decode(path).ok_or_else(|| invalid("the path has a bad %-escape"))?;
            let path = PathBuf::from(path);
            let path = if path.is_absolute() { path } else { data_dir.join(path) };
            return Target::sqlite(path, query);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres { url: url.to_owned() });
        }
        Err(invalid("only sqlite:// and postgres:// URLs are supported"))
    }

    fn sqlite(path: PathBuf, query: Option<&str>) -> Result<Target> {
        let Some(text) = path.to_str() else {
            return Err(Error::InvalidUrl {
                url: path.display().to_string(),
                reason: "the SQLite path is not valid UTF-8".to_owned(),
            });
        };
        let mut url = format!("sqlite://{}", percent_encode_path(text));
        let query: Vec<&str> = query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()).collect();
        // Create the file unless the operator chose a mode.
        let mode = if query.iter().any(|p| p.starts_with("mode=")) { None } else { Some("mode=rwc") };
        let params: Vec<&str> = mode.into_iter().chain(query).collect();
        url.push('?');
        url.push_str(&params.join("&"));
        Ok(Target::Sqlite { path, url })
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Target::Sqlite { .. } => Backend::Sqlite,
            Target::Postgres { .. } => Backend::Postgres,
        }
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            Target::Sqlite { url, .. } | Target::Postgres { url } => url,
        }
    }

    /// The URL for messages and logs: password masked.
    pub(crate) fn describe(&self) -> String {
        match self {
            Target::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            Target::Postgres { url } => mask_password(url),
        }
    }
}

/// `url` with the password of its user info and any `password=` query parameter replaced by `***`.
pub fn mask_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let start = scheme_end + 3;
        let authority_end = out[start..].find(['/', '?', '#']).map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..authority_end].rfind('@') {
            let userinfo = &out[start..start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(start + colon + 1..start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{head}{}", masked.join("&"));
    }
    out
}

fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-_.~:\\".contains(&byte) {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_path(url: &str, data_dir: &str) -> (PathBuf, String) {
        match Target::resolve(url, Path::new(data_dir)).unwrap() {
            Target::Sqlite { path, url } => (path, url),
            other => panic!("expected sqlite, got {other:?}"),
        }
    }

    #[test]
    fn empty_url_is_quarry_db_in_the_data_dir() {
        let (path, url) = sqlite_path("", "/var/lib/quarry");
        assert_eq!(path, Path::new("/var/lib/quarry/quarry.db"));
        assert_eq!(url, "sqlite:///var/lib/quarry/quarry.db?mode=rwc");
    }

    #[test]
    fn relative_sqlite_paths_are_taken_from_the_data_dir_and_absolute_ones_kept() {
        assert_eq!(sqlite_path("sqlite://sub/x.db", "/data").0, Path::new("/data/sub/x.db"));
        assert_eq!(sqlite_path("sqlite:x.db", "/data").0, Path::new("/data/x.db"));
        assert_eq!(sqlite_path("sqlite:///abs/x.db", "/data").0, Path::new("/abs/x.db"));
    }

    #[test]
    fn sqlite_paths_are_escaped_and_an_explicit_mode_is_kept() {
        let (path, url) = sqlite_path("sqlite:///tmp/my%20dir/a%23b.db", "/data");
        assert_eq!(path, Path::new("/tmp/my dir/a#b.db"));
        assert_eq!(url, "sqlite:///tmp/my%20dir/a%23b.db?mode=rwc");
        let (_, url) = sqlite_path("sqlite:///tmp/x.db?mode=rw", "/data");
        assert_eq!(url, "sqlite:///tmp/x.db?mode=rw");
        assert_eq!(Target::resolve("sqlite:///tmp/%zz", Path::new("/d")).unwrap_err().kind(), "invalid_url");
    }

    #[test]
    fn postgres_urls_pass_through_and_others_are_refused() {
        let target = Target::resolve("postgres://u:secret@db:5432/quarry", Path::new("/d")).unwrap();
        assert_eq!(target.backend(), Backend::Postgres);
        assert_eq!(target.url(), "postgres://u:secret@db:5432/quarry");
        assert_eq!(target.describe(), "postgres://u:***@db:5432/quarry");
        let err = Target::resolve("mysql://u:secret@db/q", Path::new("/d")).unwrap_err();
        assert_eq!(err.kind(), "invalid_url");
        assert!(!err.to_string().contains("secret"), "{err}");
        assert_eq!(Target::resolve("sqlite::memory:", Path::new("/d")).unwrap_err().kind(), "invalid_url");
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(mask_password("postgres://u:p%40ss@h/db"), "postgres://u:***@h/db");
        assert_eq!(mask_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            mask_password("postgres://h/db?user=u&password=x&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        // An @ in the path is not user info.
        assert_eq!(mask_password("postgres://h/d@b"), "postgres://h/d@b");
        assert_eq!(mask_password("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[test]
    fn defaults_are_documented_values() {
        let config: StoreConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, StoreConfig { url: String::new(), max_connections: 8, acquire_timeout_ms: 5000 });
        assert!(serde_json::from_str::<StoreConfig>(r#"{"uri": "x"}"#).is_err());
    }
}

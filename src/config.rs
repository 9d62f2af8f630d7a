//! The `dlsim serve --config FILE` format (TOML). Everything is optional: what is left out
//! falls back to the built-in demo (users, library) and the documented defaults.
//!
//! ```toml
//! listen = "127.0.0.1:8080"   # HOST:PORT; a host name such as localhost:8080 works too
//! seed = 7
//! idle_timeout_secs = 300
//! emit_session_id = false
//! body_limit_bytes = 1048576
//! header_timeout_secs = 30   # a connection that sends no whole request head for this long is closed
//! # control_token = "..."   # /dlsim/ calls need it (dlsim-control-token header); else loopback only
//!
//! content_seed = 0     # seed of synthetic file bytes
//! checksums = true
//!
//! [tls]
//! enabled = false
//! # cert = "server.pem"  # PEM chain and key; generated at start when left out
//! # key = "server.key"
//! sha256_thumbprint = false   # report SHA-256 (9.x) instead of SHA-1 thumbprints
//! report_certificate = false  # also report ssl_certificate (PEM)
//!
//! [prepare]
//! requested_ms = 500   # time in PREPARE_REQUESTED
//! preparing_ms = 2000  # then in PREPARING, then PREPARED
//! wait_for_checksum = false  # real clock: PREPARED without waiting for the file's read
//!
//! [[users]]
//! name = "alice@vsphere.local"
//! password = "secret"
//! privileges = ["ContentLibrary.DownloadSession"]
//!
//! [[libraries]]
//! name = "isos"
//! [[libraries.items]]
//! name = "alpine"
//! type = "iso"
//! content_version = "3"
//! checksum_algorithm = "SHA256"
//! files = [{ name = "alpine.iso", size = 62914560 }]
//! ```
//!
//! The sections that scenarios share (`[prepare]`, `[[libraries]]`) and `[[users]]` are read
//! into the types here, which convert into the engine's plain ones: the engine knows no file
//! format.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use crate::engine::auth::KNOWN_PRIVILEGES;
use crate::engine::{self, library};
// What applying a configuration file to a server needs (only the command line does that).
#[cfg(feature = "cli")]
use crate::server::{ServerConfig, DEFAULT_BODY_LIMIT};
#[cfg(feature = "cli")]
use std::{net::SocketAddr, path::Path, time::Duration};

/// A configuration file (`dlsim serve --config FILE`). Without the `cli` feature only the
/// fuzzing entry point parses one, and nothing reads its fields.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// HOST:PORT, as `--listen` takes it.
    pub listen: Option<String>,
    pub seed: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub emit_session_id: Option<bool>,
    pub body_limit_bytes: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub control_token: Option<String>,
    pub prepare: Option<PrepareTiming>,
    pub content_seed: Option<u64>,
    pub checksums: Option<bool>,
    /// Serve a directory as the library: one item per subdirectory.
    pub library_dir: Option<PathBuf>,
    pub tls: Option<TlsSection>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub libraries: Vec<LibrarySpec>,
}

#[cfg_attr(not(feature = "cli"), allow(dead_code))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    #[serde(default)]
    pub enabled: bool,
    pub cert: Option<std::path::PathBuf>,
    pub key: Option<std::path::PathBuf>,
    #[serde(default)]
    pub sha256_thumbprint: bool,
    #[serde(default)]
    pub report_certificate: bool,
}

/// `[prepare]`: how long a prepare request stays in each intermediate status (see
/// [`engine::PrepareTiming`]; the same defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrepareTiming {
    pub requested_ms: u64,
    pub preparing_ms: u64,
    pub wait_for_checksum: bool,
}

impl Default for PrepareTiming {
    fn default() -> Self {
        PrepareTiming::of(engine::PrepareTiming::default())
    }
}

impl PrepareTiming {
    fn of(t: engine::PrepareTiming) -> Self {
        PrepareTiming {
            requested_ms: t.requested_ms,
            preparing_ms: t.preparing_ms,
            wait_for_checksum: t.wait_for_checksum,
        }
    }
}

impl PrepareTiming {
    /// The engine's timing with these values.
    pub(crate) fn engine(self) -> engine::PrepareTiming {
        let t = self;
        engine::PrepareTiming {
            requested_ms: t.requested_ms,
            preparing_ms: t.preparing_ms,
            wait_for_checksum: t.wait_for_checksum,
        }
    }
}

/// `[[users]]`: a user as configured (every privilege when none are listed).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub password: String,
    #[serde(default = "all_privileges", deserialize_with = "known_privileges")]
    pub privileges: Vec<String>,
}

fn all_privileges() -> Vec<String> {
    KNOWN_PRIVILEGES.iter().map(|p| p.to_string()).collect()
}

/// Configured privileges, each one dlsim knows: a misspelt one would silently leave the user
/// without it.
fn known_privileges<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let privileges = Vec::<String>::deserialize(d)?;
    match privileges
        .iter()
        .find(|p| !KNOWN_PRIVILEGES.contains(&p.as_str()))
    {
        Some(p) => Err(serde::de::Error::custom(format!(
            "unknown privilege {p:?}; the known privileges are {}",
            KNOWN_PRIVILEGES.join(", ")
        ))),
        None => Ok(privileges),
    }
}

impl User {
    /// The engine's user with these values.
    #[cfg(feature = "cli")]
    pub(crate) fn engine(self) -> crate::engine::auth::User {
        let u = self;
        crate::engine::auth::User {
            name: u.name,
            password: u.password,
            privileges: u.privileges,
        }
    }
}

/// `[[libraries]]`: one library as configured; give it to
/// [`DlsimBuilder::libraries`](crate::DlsimBuilder::libraries) to serve it instead of the demo.
///
/// ```
/// let library = dlsim::LibrarySpec {
///     id: None, // derived from the name
///     name: "isos".into(),
///     description: None,
///     items: vec![dlsim::ItemSpec {
///         id: None,
///         name: "alpine".into(),
///         item_type: Some("iso".into()),
///         description: None,
///         content_version: "1".into(),
///         checksum_algorithm: Some("SHA256".into()),
///         files: vec![dlsim::FileSpec { name: "alpine.iso".into(), size: 62_914_560 }],
///         path: None, // synthetic bytes, not a directory
///     }],
/// };
/// let same: dlsim::LibrarySpec = toml::from_str(
///     "name = 'isos'\n[[items]]\nname = 'alpine'\ntype = 'iso'\nchecksum_algorithm = 'SHA256'\nfiles = [{ name = 'alpine.iso', size = 62914560 }]",
/// )
/// .unwrap();
/// assert_eq!(same.items[0].files[0].size, library.items[0].files[0].size);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySpec {
    /// The library's id (a stable UUID derived from the name when unset).
    #[serde(default)]
    pub id: Option<String>,
    /// The library's name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its items.
    #[serde(default)]
    pub items: Vec<ItemSpec>,
}

/// `[[libraries.items]]`: one library item as configured.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // An item whose bytes come from a directory: every file in it is served.
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
/// let item = dlsim::ItemSpec {
///     id: Some("5e4f1a2b-0000-4000-8000-000000000001".into()),
///     name: "notes".into(),
///     item_type: None,
///     description: None,
///     content_version: "7".into(),
///     checksum_algorithm: None,
///     files: vec![],
///     path: Some(dir.path().to_path_buf()),
/// };
/// let library = dlsim::LibrarySpec { id: None, name: "docs".into(), description: None, items: vec![item] };
/// let fake = dlsim::Dlsim::builder().libraries(vec![library]).start().await;
/// # let http = reqwest::Client::new();
/// # let token: String = http.post(format!("{}/session", fake.api_url()))
/// #     .basic_auth(fake.username(), Some(fake.password())).send().await.unwrap().json().await.unwrap();
/// let served: serde_json::Value = http
///     .get(format!("{}/content/library/item/5e4f1a2b-0000-4000-8000-000000000001", fake.api_url()))
///     .header("vmware-api-session-id", token)
///     .send().await.unwrap()
///     .json().await.unwrap();
/// assert_eq!((served["content_version"].as_str(), served["size"].as_u64()), (Some("7"), Some(5)));
/// # }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// The item's id (a stable UUID derived from the name when unset).
    #[serde(default)]
    pub id: Option<String>,
    /// The item's name.
    pub name: String,
    /// Its type (`ovf`, `iso`, ...), written `type` in a file.
    #[serde(default, rename = "type")]
    pub item_type: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its content version ("1" by default).
    #[serde(default = "default_content_version")]
    pub content_version: String,
    /// Algorithm of the checksum reported after a complete download (unset: SHA1).
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
    /// Its files.
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// Serve this item's files from this directory instead of synthetic bytes; with no
    /// `files` listed, every regular file in it is one of the item's files.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

/// One file of an item as configured: its name and declared size in bytes. Its bytes are
/// synthetic (deterministic from the content seed) unless the item has a `path`.
///
/// ```
/// let file: dlsim::FileSpec = toml::from_str("name = 'disk-0.vmdk'\nsize = 1048576").unwrap();
/// assert_eq!((file.name.as_str(), file.size), ("disk-0.vmdk", 1 << 20));
/// assert!(toml::from_str::<dlsim::FileSpec>("name = 'x'\nsise = 1").is_err()); // a typo is refused
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// The file name (no path separators).
    pub name: String,
    /// Declared size; for a directory-backed item it is read from the file and may be left out.
    #[serde(default)]
    pub size: u64,
}

fn default_content_version() -> String {
    "1".to_string()
}

impl From<LibrarySpec> for library::LibrarySpec {
    fn from(l: LibrarySpec) -> Self {
        library::LibrarySpec {
            id: l.id,
            name: l.name,
            description: l.description,
            items: l.items.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ItemSpec> for library::ItemSpec {
    fn from(i: ItemSpec) -> Self {
        library::ItemSpec {
            id: i.id,
            name: i.name,
            item_type: i.item_type,
            description: i.description,
            content_version: i.content_version,
            checksum_algorithm: i.checksum_algorithm,
            files: i.files.into_iter().map(Into::into).collect(),
            source: match i.path {
                Some(dir) => library::ItemSource::Directory(dir),
                None => library::ItemSource::Synthetic,
            },
        }
    }
}

impl From<FileSpec> for library::FileSpec {
    fn from(f: FileSpec) -> Self {
        library::FileSpec {
            name: f.name,
            size: f.size,
            target: None,
        }
    }
}

/// Configured libraries as the engine takes them.
pub fn libraries(specs: Vec<LibrarySpec>) -> Vec<library::LibrarySpec> {
    specs.into_iter().map(Into::into).collect()
}

/// `--listen` and `listen =`: HOST:PORT, the host a name (resolved, an IPv4 address
/// preferred) or an IP address.
#[cfg(feature = "cli")]
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    if text
        .rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err("expected HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080".into());
    }
    let mut addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {text}: {e}"))?
        .collect();
    // localhost may resolve to ::1 first; prefer IPv4 so the banner's URL works everywhere.
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs
        .into_iter()
        .next()
        .ok_or_else(|| format!("{text} resolves to no address"))
}

#[cfg(feature = "cli")]
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid dlsim configuration: {message}")]
    Parse { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl FileConfig {
    #[cfg(feature = "cli")]
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Apply this file over a server configuration.
    #[cfg(feature = "cli")]
    pub fn apply(self, config: &mut ServerConfig) -> Result<(), ConfigError> {
        if let Some(l) = self.listen {
            config.listen = parse_listen(&l)
                .map_err(|e| ConfigError::Invalid(format!("listen = {l:?}: {e}")))?;
        }
        if let Some(s) = self.seed {
            config.engine.seed = s;
        }
        if let Some(t) = self.idle_timeout_secs {
            if t == 0 {
                return Err(ConfigError::Invalid(
                    "idle_timeout_secs must be at least 1".into(),
                ));
            }
            config.engine.idle_timeout = Duration::from_secs(t);
        }
        if let Some(e) = self.emit_session_id {
            config.engine.emit_session_id = e;
        }
        config.body_limit = self.body_limit_bytes.unwrap_or(DEFAULT_BODY_LIMIT);
        if let Some(t) = self.header_timeout_secs {
            if t == 0 {
                return Err(ConfigError::Invalid(
                    "header_timeout_secs must be at least 1".into(),
                ));
            }
            config.header_read_timeout = Duration::from_secs(t);
        }
        if let Some(t) = self.control_token {
            if t.is_empty() {
                return Err(ConfigError::Invalid(
                    "control_token must not be empty".into(),
                ));
            }
            config.control_token = Some(t);
        }
        if let Some(p) = self.prepare {
            config.engine.prepare = p.engine();
        }
        if !self.users.is_empty() {
            config.engine.users = self.users.into_iter().map(User::engine).collect();
        }
        if let Some(seed) = self.content_seed {
            config.engine.content_seed = seed;
        }
        if let Some(c) = self.checksums {
            config.checksums = c;
        }
        if let Some(t) = self.tls {
            if t.enabled {
                let cert_and_key = match (t.cert, t.key) {
                    (Some(c), Some(k)) => Some((c, k)),
                    (None, None) => None,
                    _ => {
                        return Err(ConfigError::Invalid(
                            "[tls] needs both cert and key, or neither (to generate one)".into(),
                        ))
                    }
                };
                config.tls = Some(crate::server::TlsOptions {
                    cert_and_key,
                    sha256_thumbprint: t.sha256_thumbprint,
                    report_certificate: t.report_certificate,
                });
            }
        }
        if !self.libraries.is_empty() && self.library_dir.is_some() {
            return Err(ConfigError::Invalid(
                "use either [[libraries]] or library_dir, not both".into(),
            ));
        }
        if let Some(dir) = self.library_dir {
            config.engine.libraries = crate::content::directory::library_from_directory(&dir)
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        if !self.libraries.is_empty() {
            config.engine.libraries = libraries(self.libraries);
        }
        Ok(())
    }
}

/// The example configuration of this module's docs, as a file would hold it (the tests and
/// the fuzzing seeds read it, so the documented example is always a tested one).
#[cfg(test)]
pub(crate) fn documented_example() -> String {
    include_str!("config.rs")
        .lines()
        .skip_while(|l| !l.starts_with("//! ```toml"))
        .skip(1)
        .take_while(|l| !l.starts_with("//! ```"))
        .map(|l| l.trim_start_matches("//!").trim_start())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_parses_and_applies() {
        let text = documented_example();
        let fc = FileConfig::parse(&text).unwrap();
        let mut c = ServerConfig::default();
        fc.apply(&mut c).unwrap();
        assert_eq!(c.engine.seed, 7);
        assert_eq!(c.engine.prepare.preparing_ms, 2000);
        assert!(!c.engine.prepare.wait_for_checksum);
        assert_eq!(c.header_read_timeout, Duration::from_secs(30));
        assert_eq!(c.engine.users[0].name, "alice@vsphere.local");
        assert_eq!(c.engine.libraries[0].items[0].files[0].size, 62_914_560);
        // Left out, waiting for the checksum is on.
        let fc = FileConfig::parse("[prepare]\nrequested_ms = 1").unwrap();
        let mut c = ServerConfig::default();
        fc.apply(&mut c).unwrap();
        assert!(c.engine.prepare.wait_for_checksum);
    }

    #[test]
    fn unknown_privileges_are_refused_with_the_known_ones() {
        let text = r#"
            [[users]]
            name = "alice@vsphere.local"
            password = "secret"
            privileges = ["ContentLibrary.DownloadSesion"]
        "#;
        let err = FileConfig::parse(text).unwrap_err();
        assert!(err.contains("\"ContentLibrary.DownloadSesion\""), "{err}");
        assert!(err.contains("ContentLibrary.DownloadSession"), "{err}");
        assert!(err.contains("ContentLibrary.ReadStorage"), "{err}");
        let known = text.replace("DownloadSesion", "DownloadSession");
        let users = FileConfig::parse(&known).unwrap().users;
        assert_eq!(users[0].privileges, ["ContentLibrary.DownloadSession"]);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = FileConfig::parse("idle_timeout = 5").unwrap_err();
        assert!(err.contains("idle_timeout"), "{err}");
    }

    #[cfg(feature = "cli")]
    #[tokio::test]
    async fn the_default_listen_address_is_loopback() {
        let config = crate::server::ServerConfig::default();
        assert!(config.listen.ip().is_loopback(), "{}", config.listen);
        // A configuration file that does not name an address keeps it.
        let mut c = crate::server::ServerConfig::default();
        crate::config::FileConfig::parse("seed = 1")
            .unwrap()
            .apply(&mut c)
            .unwrap();
        assert!(c.listen.ip().is_loopback());
        let fake = crate::Dlsim::start().await;
        assert!(fake.base_url().starts_with("http://127.0.0.1:"));
    }

    #[cfg(feature = "cli")]
    #[test]
    fn listen_takes_a_host_name_as_the_flag_does() {
        let apply = |text: &str| {
            let mut c = crate::server::ServerConfig::default();
            FileConfig::parse(text)
                .unwrap()
                .apply(&mut c)
                .map(|_| c.listen)
        };
        let named = apply("listen = \"localhost:8089\"").unwrap();
        assert!(named.ip().is_loopback() && named.port() == 8089, "{named}");
        assert_eq!(
            apply("listen = \"[::1]:8089\"").unwrap(),
            "[::1]:8089".parse().unwrap()
        );
        let err = apply("listen = \"localhost\"").unwrap_err().to_string();
        assert!(
            err.contains("listen = \"localhost\": expected HOST:PORT"),
            "{err}"
        );
    }
}

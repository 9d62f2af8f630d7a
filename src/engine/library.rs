//! The content library the fake serves: libraries, their items, and each item's files.
//!
//! It is read-only at run time and comes from configuration (or the built-in demo). Ids not
//! given in configuration are derived from names, so the same file always yields the same ids.
//!
//! The catalogue reads no disk: a directory item arrives with its files already listed, sized
//! and resolved (by `content::directory`), and its [`ItemSource::Directory`] path is only
//! carried to the content plane.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::model::{ChecksumAlgorithm, ItemModel, LibraryModel, LibraryType, Timestamp};

/// One library to serve (the configuration file's form is [`crate::config::LibrarySpec`]).
#[derive(Debug, Clone)]
pub struct LibrarySpec {
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub items: Vec<ItemSpec>,
}

/// One library item to serve.
#[derive(Debug, Clone)]
pub struct ItemSpec {
    pub id: Option<String>,
    pub name: String,
    pub item_type: Option<String>,
    pub description: Option<String>,
    pub content_version: String,
    /// Algorithm of the checksum reported after a complete download (unset: SHA1).
    pub checksum_algorithm: Option<String>,
    pub files: Vec<FileSpec>,
    /// Where the files' bytes come from. A directory item's files are taken as given: whoever
    /// builds the engine has them read first (`content::directory::read_directories`).
    pub source: ItemSource,
}

/// One file of an item: its name and size in bytes.
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub name: String,
    pub size: u64,
    /// Directory items: the file in the directory that holds the bytes (see
    /// [`ItemFile::target`]); none for synthetic ones.
    pub target: Option<String>,
}

/// A library item with its files, as the engine uses it.
#[derive(Debug, Clone)]
pub struct Item {
    /// Shared with every session on the item (a session stores no copy).
    pub id: Arc<str>,
    pub library_id: String,
    pub name: String,
    pub item_type: Option<String>,
    pub description: Option<String>,
    pub content_version: Arc<str>,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub files: Vec<ItemFile>,
    pub source: ItemSource,
}

/// Where an item's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemSource {
    /// Deterministic bytes from the content seed (no disk).
    Synthetic,
    /// Files of this directory (canonical path once read); nothing outside it is ever read.
    /// The engine only carries the path to the content plane.
    Directory(PathBuf),
}

#[derive(Debug, Clone)]
pub struct ItemFile {
    /// Shared with every session file of it.
    pub name: Arc<str>,
    pub size: u64,
    /// Directory items: the name of the regular file in the item's directory that holds the
    /// bytes. A symlink inside the directory is resolved here, once, at load; serving opens
    /// this name and never follows a link.
    pub target: Option<String>,
}

#[derive(Debug, Clone)]
struct Library {
    id: String,
    name: String,
    description: Option<String>,
    item_ids: Vec<String>,
}

/// The whole catalogue: libraries in configured order, items by id.
#[derive(Debug, Clone)]
pub struct Catalog {
    libraries: Vec<Library>,
    items: BTreeMap<String, Item>,
    created: Timestamp,
}

/// Why a library configuration cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("two libraries or items share the id {0:?}; give each a unique id")]
    DuplicateId(String),
    #[error("item {item:?} lists the file {file:?} twice")]
    DuplicateFile { item: String, file: String },
    #[error(
        "item {item:?} has an unsafe file name {file:?} (no '/', '\\', '..' or control characters)"
    )]
    UnsafeFileName { item: String, file: String },
    #[error(
        "item {item:?}: unknown checksum algorithm {algorithm:?} (use SHA1, MD5, SHA256 or SHA512)"
    )]
    UnknownAlgorithm { item: String, algorithm: String },
    #[error("item {item:?}: file {file:?} is larger than 2^63-1 bytes")]
    TooLarge { item: String, file: String },
    /// Reading a directory library (`content::directory`) failed; the catalogue reads none.
    #[error("cannot read the library directory {path}: {message}")]
    Directory { path: String, message: String },
    #[error("item {item:?}: {file:?} is not a regular file inside {dir}")]
    NotInDirectory {
        item: String,
        file: String,
        dir: String,
    },
}

/// Namespace of the ids dlsim derives from names.
const ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x0a3c7d98_8d2e_4190_a258_3c7217702969);

/// A stable id derived from a name: a version-5 UUID, so clients that parse ids accept it.
pub fn derived_id(kind: &str, name: &str) -> String {
    crate::ids::uuid_v5(&ID_NAMESPACE, format!("{kind}:{name}").as_bytes())
}

/// Whether a file name is safe to serve and to put in a URI path segment.
pub fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

impl Catalog {
    pub fn new(specs: &[LibrarySpec], created: Timestamp) -> Result<Self, CatalogError> {
        let mut libraries = Vec::new();
        let mut items = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        for spec in specs {
            let lib_id = spec
                .id
                .clone()
                .unwrap_or_else(|| derived_id("library", &spec.name));
            if !seen.insert(lib_id.clone()) {
                return Err(CatalogError::DuplicateId(lib_id));
            }
            let mut item_ids = Vec::new();
            for it in &spec.items {
                let id = it
                    .id
                    .clone()
                    .unwrap_or_else(|| derived_id("item", &format!("{}/{}", spec.name, it.name)));
                if !seen.insert(id.clone()) {
                    return Err(CatalogError::DuplicateId(id));
                }
                let checksum_algorithm = match &it.checksum_algorithm {
                    None => None,
                    Some(a) => Some(
                        ChecksumAlgorithm::parse(&a.to_ascii_uppercase()).ok_or_else(|| {
                            CatalogError::UnknownAlgorithm {
                                item: it.name.clone(),
                                algorithm: a.clone(),
                            }
                        })?,
                    ),
                };
                let mut files: Vec<ItemFile> = Vec::new();
                for f in &it.files {
                    if !is_safe_file_name(&f.name) {
                        return Err(CatalogError::UnsafeFileName {
                            item: it.name.clone(),
                            file: f.name.clone(),
                        });
                    }
                    if files.iter().any(|g| *g.name == *f.name) {
                        return Err(CatalogError::DuplicateFile {
                            item: it.name.clone(),
                            file: f.name.clone(),
                        });
                    }
                    if i64::try_from(f.size).is_err() {
                        return Err(CatalogError::TooLarge {
                            item: it.name.clone(),
                            file: f.name.clone(),
                        });
                    }
                    files.push(ItemFile {
                        name: f.name.as_str().into(),
                        size: f.size,
                        target: f.target.clone(),
                    });
                }
                item_ids.push(id.clone());
                items.insert(
                    id.clone(),
                    Item {
                        id: id.into(),
                        library_id: lib_id.clone(),
                        name: it.name.clone(),
                        item_type: it.item_type.clone(),
                        description: it.description.clone(),
                        content_version: it.content_version.as_str().into(),
                        checksum_algorithm,
                        files,
                        source: it.source.clone(),
                    },
                );
            }
            libraries.push(Library {
                id: lib_id,
                name: spec.name.clone(),
                description: spec.description.clone(),
                item_ids,
            });
        }
        Ok(Catalog {
            libraries,
            items,
            created,
        })
    }

    pub fn library_ids(&self) -> Vec<String> {
        self.libraries.iter().map(|l| l.id.clone()).collect()
    }

    pub fn library(&self, id: &str) -> Option<LibraryModel> {
        let l = self.libraries.iter().find(|l| l.id == id)?;
        Some(LibraryModel {
            id: l.id.clone(),
            name: l.name.clone(),
            library_type: LibraryType::Local,
            description: l.description.clone(),
            creation_time: self.created,
            last_modified_time: self.created,
            version: "1".to_string(),
        })
    }

    /// Item ids of a library, or `None` if there is no such library.
    pub fn item_ids(&self, library_id: &str) -> Option<Vec<String>> {
        self.libraries
            .iter()
            .find(|l| l.id == library_id)
            .map(|l| l.item_ids.clone())
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.get(id)
    }

    pub fn item_model(&self, id: &str) -> Option<ItemModel> {
        let it = self.items.get(id)?;
        Some(ItemModel {
            id: it.id.to_string(),
            library_id: it.library_id.clone(),
            name: it.name.clone(),
            item_type: it.item_type.clone(),
            description: it.description.clone(),
            content_version: it.content_version.to_string(),
            metadata_version: "1".to_string(),
            version: "1".to_string(),
            size: it.files.iter().map(|f| f.size as i64).sum(),
            cached: true,
            creation_time: self.created,
            last_modified_time: self.created,
        })
    }
}

/// The filters of the legacy item `find` (every one optional; all must match).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemFind {
    pub name: Option<String>,
    pub library_id: Option<String>,
    pub source_id: Option<String>,
    pub item_type: Option<String>,
    pub cached: Option<bool>,
}

impl Catalog {
    /// Library ids whose name (exactly) and type (`LOCAL`; no library here is subscribed) match.
    pub fn find_libraries(&self, name: Option<&str>, library_type: Option<&str>) -> Vec<String> {
        if library_type.is_some_and(|t| t != LibraryType::Local.as_str()) {
            return vec![];
        }
        self.libraries
            .iter()
            .filter(|l| name.is_none_or(|n| l.name == n))
            .map(|l| l.id.clone())
            .collect()
    }

    /// Item ids matching every given filter. Items here have no source (they are not
    /// subscribed copies), so any `source_id` matches nothing; every item counts as cached.
    pub fn find_items(&self, find: &ItemFind) -> Vec<String> {
        if find.source_id.is_some() || find.cached == Some(false) {
            return vec![];
        }
        self.libraries
            .iter()
            .filter(|l| find.library_id.as_ref().is_none_or(|id| &l.id == id))
            .flat_map(|l| l.item_ids.iter())
            .filter_map(|id| self.items.get(id))
            .filter(|it| find.name.as_ref().is_none_or(|n| &it.name == n))
            .filter(|it| {
                find.item_type
                    .as_ref()
                    .is_none_or(|t| it.item_type.as_ref() == Some(t))
            })
            .map(|it| it.id.to_string())
            .collect()
    }
}

/// The built-in demo library `dlsim serve` uses with no configuration.
pub fn demo_library() -> Vec<LibrarySpec> {
    let file = |name: &str, size: u64| FileSpec {
        name: name.to_string(),
        size,
        target: None,
    };
    vec![LibrarySpec {
        id: Some(DEMO_LIBRARY_ID.to_string()),
        name: "dlsim-demo".to_string(),
        description: Some("Built-in demo library of dlsim".to_string()),
        items: vec![
            ItemSpec {
                id: Some(DEMO_OVF_ITEM_ID.to_string()),
                name: "photon-5-ovf".to_string(),
                item_type: Some("ovf".to_string()),
                description: Some("Photon OS 5 appliance (OVF template)".to_string()),
                content_version: "2".to_string(),
                checksum_algorithm: None,
                source: ItemSource::Synthetic,
                files: vec![
                    file("photon-5.ovf", 9_412),
                    // Exactly the length of its two `SHA256(name)= hex` lines.
                    file("photon-5.mf", 181),
                    file("photon-5-disk1.vmdk", 1_073_741_824),
                ],
            },
            ItemSpec {
                id: Some(DEMO_ISO_ITEM_ID.to_string()),
                name: "ubuntu-24.04-server-iso".to_string(),
                item_type: Some("iso".to_string()),
                description: Some("Ubuntu 24.04 live server installer".to_string()),
                content_version: "1".to_string(),
                checksum_algorithm: Some("SHA256".to_string()),
                source: ItemSource::Synthetic,
                files: vec![file("ubuntu-24.04-live-server-amd64.iso", 2_754_981_888)],
            },
        ],
    }]
}

/// Id of the demo library, which a fake serves when given no library.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fake = dlsim::Dlsim::start().await;
/// assert_eq!(fake.library_ids(), [dlsim::DEMO_LIBRARY_ID]);
/// # }
/// ```
pub const DEMO_LIBRARY_ID: &str = "6f0c5d2e-8a1b-4c3d-9e7f-0a1b2c3d4e5f";
/// Id of the demo OVF template item: a valid OVF descriptor `photon-5.ovf`, its SHA256
/// manifest `photon-5.mf`, and a 1 GiB disk `photon-5-disk1.vmdk`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fake = dlsim::Dlsim::start().await;
/// let items = fake.item_ids(dlsim::DEMO_LIBRARY_ID).unwrap();
/// assert_eq!(items, [dlsim::DEMO_OVF_ITEM_ID, dlsim::DEMO_ISO_ITEM_ID]);
/// # }
/// ```
pub const DEMO_OVF_ITEM_ID: &str = "b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b";
/// Id of the demo ISO item: one 2.6 GiB file `ubuntu-24.04-live-server-amd64.iso`, with
/// SHA256 checksums.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fake = dlsim::Dlsim::start().await;
/// let http = reqwest::Client::new();
/// let token: String = http
///     .post(format!("{}/session", fake.api_url()))
///     .basic_auth(fake.username(), Some(fake.password()))
///     .send().await.unwrap()
///     .json().await.unwrap();
/// let item: serde_json::Value = http
///     .get(format!("{}/content/library/item/{}", fake.api_url(), dlsim::DEMO_ISO_ITEM_ID))
///     .header("vmware-api-session-id", token)
///     .send().await.unwrap()
///     .json().await.unwrap();
/// assert_eq!(item["type"], "iso");
/// assert_eq!(item["size"], 2_754_981_888u64);
/// # }
/// ```
pub const DEMO_ISO_ITEM_ID: &str = "c2f3d4e5-6a71-4829-9bac-1d2e3f4a5b6c";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_library_loads_with_stable_ids() {
        let c = Catalog::new(&demo_library(), Timestamp(0)).unwrap();
        assert_eq!(c.library_ids(), vec![DEMO_LIBRARY_ID.to_string()]);
        let items = c.item_ids(DEMO_LIBRARY_ID).unwrap();
        assert_eq!(items, vec![DEMO_OVF_ITEM_ID, DEMO_ISO_ITEM_ID]);
        assert_eq!(c.item(DEMO_OVF_ITEM_ID).unwrap().files.len(), 3);
    }

    #[test]
    fn derived_ids_are_stable_name_based_uuids() {
        let a = derived_id("item", "x");
        assert_eq!(a, derived_id("item", "x"));
        assert_ne!(a, derived_id("item", "y"));
        assert_ne!(a, derived_id("library", "x"));
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version(), Some(uuid::Version::Sha1), "{a}");
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{a}");
    }

    #[test]
    fn unsafe_names_and_duplicates_are_refused() {
        let mut specs = demo_library();
        specs[0].items[0].files[0].name = "../../etc/passwd".into();
        assert!(matches!(
            Catalog::new(&specs, Timestamp(0)),
            Err(CatalogError::UnsafeFileName { .. })
        ));
        let mut specs = demo_library();
        specs[0].items[1].id = specs[0].items[0].id.clone();
        assert!(matches!(
            Catalog::new(&specs, Timestamp(0)),
            Err(CatalogError::DuplicateId(_))
        ));
    }
}

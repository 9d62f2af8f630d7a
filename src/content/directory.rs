//! Directory libraries: a directory read into the engine's library specs.
//!
//! [`library_from_directory`] makes one item per subdirectory; [`read_directories`] lists,
//! sizes and resolves every directory item's files when the server starts, so the engine's
//! catalogue gets plain values and reads no disk. Each file must be a regular file directly
//! inside its item's directory; a symlink there is resolved once, here (see
//! [`ItemFile::target`](crate::engine::library::ItemFile::target)), and serving never follows one
//! (see [`super::open_in_library`]).

use std::path::{Path, PathBuf};

use crate::engine::library::{is_safe_file_name, CatalogError, FileSpec, ItemSource, LibrarySpec};

/// The files of a directory-backed item: the listed ones (sizes read from disk), or every
/// regular file in the directory. Each must be a regular file directly inside it; each comes
/// with the name of the file that holds its bytes. Returns the directory's canonical path too.
fn directory_files(
    item: &str,
    dir: &Path,
    listed: &[FileSpec],
) -> Result<(PathBuf, Vec<FileSpec>), CatalogError> {
    let io = |e: std::io::Error| CatalogError::Directory {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    let root = dir.canonicalize().map_err(io)?;
    let names: Vec<String> = if listed.is_empty() {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&root).map_err(io)? {
            let entry = entry.map_err(io)?;
            // Symlinks are listed too, so that one leading outside is refused, not skipped.
            let kind = entry.file_type().map_err(io)?;
            if kind.is_file() || kind.is_symlink() {
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        names
    } else {
        listed.iter().map(|f| f.name.clone()).collect()
    };
    let mut files = Vec::new();
    for name in names {
        if !is_safe_file_name(&name) {
            return Err(CatalogError::UnsafeFileName {
                item: item.to_string(),
                file: name,
            });
        }
        let not_inside = || CatalogError::NotInDirectory {
            item: item.to_string(),
            file: name.clone(),
            dir: root.display().to_string(),
        };
        let path = root.join(&name).canonicalize().map_err(|_| not_inside())?;
        let meta = std::fs::metadata(&path).map_err(io)?;
        let target = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string);
        if path.parent() != Some(root.as_path()) || !meta.is_file() || target.is_none() {
            return Err(not_inside());
        }
        files.push(FileSpec {
            name,
            size: meta.len(),
            target,
        });
    }
    Ok((root, files))
}

/// Read every directory item of `libraries`: its files (the listed ones, or every regular file
/// in the directory) get their sizes and targets, its source the directory's canonical path.
pub fn read_directories(libraries: &mut [LibrarySpec]) -> Result<(), CatalogError> {
    for item in libraries.iter_mut().flat_map(|l| l.items.iter_mut()) {
        if let ItemSource::Directory(dir) = &item.source {
            let (root, files) = directory_files(&item.name, dir, &item.files)?;
            item.source = ItemSource::Directory(root);
            item.files = files;
        }
    }
    Ok(())
}

/// A library served from a directory: one item per subdirectory, its files as the item's files
/// (read by [`read_directories`]).
pub fn library_from_directory(dir: &Path) -> Result<Vec<LibrarySpec>, CatalogError> {
    use crate::engine::library::ItemSpec;
    let io = |e: std::io::Error| CatalogError::Directory {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    let root = dir.canonicalize().map_err(io)?;
    let mut subdirs: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(&root).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.file_type().map_err(io)?.is_dir() {
            subdirs.push(entry.path());
        }
    }
    subdirs.sort();
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "library".to_string());
    let items = subdirs
        .into_iter()
        .map(|d| ItemSpec {
            id: None,
            name: d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            item_type: None,
            description: None,
            content_version: "1".to_string(),
            checksum_algorithm: None,
            files: vec![],
            source: ItemSource::Directory(d),
        })
        .collect();
    Ok(vec![LibrarySpec {
        id: None,
        name,
        description: Some(format!("Served from {}", root.display())),
        items,
    }])
}

#[cfg(all(test, unix))]
mod tests {
    use super::{library_from_directory, read_directories};
    use crate::engine::library::CatalogError;

    #[test]
    fn a_symlink_out_of_the_library_is_refused_at_load() {
        let root = tempfile::tempdir().unwrap();
        let lib = root.path().join("lib");
        std::fs::create_dir_all(lib.join("item")).unwrap();
        std::fs::write(root.path().join("secret.txt"), b"x").unwrap();
        std::os::unix::fs::symlink(root.path().join("secret.txt"), lib.join("item/link.iso"))
            .unwrap();
        let mut specs = library_from_directory(&lib).unwrap();
        let err = read_directories(&mut specs).unwrap_err();
        assert!(matches!(err, CatalogError::NotInDirectory { .. }), "{err}");
    }
}

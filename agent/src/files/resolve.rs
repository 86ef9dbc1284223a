//! Where a requested path leads, and the guarantee that it stays inside what was
//! attached. Two steps, because only the first can be pure:
//!
//! 1. [`locate`] (pure): splits the request into components, refuses NUL bytes,
//!    `..`, over-long paths and components, and finds the longest attached virtual
//!    path that is a prefix, giving the attached real root and the rest.
//! 2. [`open_confined`]: joins the rest to the root, canonicalizes (following
//!    symlinks), checks the canonical path is still under the root, opens it, and
//!    checks again what the open descriptor really is (through `/proc/self/fd`), so a
//!    symlink swapped in between the check and the open cannot lead outside.
//!
//! Mesos compares the canonical path with the root as strings (so `/sandbox2` passed
//! for `/sandbox`); here the comparison is by components.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The longest requested path considered, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_LEN: usize = 4096;
/// The longest path component, in bytes (Linux's `NAME_MAX`).
pub const MAX_COMPONENT_LEN: usize = 255;

/// Why a requested path leads nowhere. Every refusal is answered `404 Not Found`, so
/// that a client learns nothing about what exists outside the attached paths.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The path holds a NUL byte, which no file name can.
    #[error("the path holds a NUL byte")]
    Nul,
    /// The path is longer than `MAX_PATH_LEN`.
    #[error("the path is longer than {MAX_PATH_LEN} bytes")]
    TooLong,
    /// A component is longer than `MAX_COMPONENT_LEN`.
    #[error("a path component is longer than {MAX_COMPONENT_LEN} bytes")]
    ComponentTooLong,
    /// The path holds a `..` component. Clients never need one, and refusing it
    /// outright avoids reasoning about `..` after a symlink.
    #[error("the path holds a '..' component")]
    Parent,
    /// No attached path is a prefix of it.
    #[error("the path is under no attached path")]
    NotAttached,
    /// It does not exist (or names something inside an attached file).
    #[error("the path does not exist")]
    NotFound,
    /// After following symlinks it lies outside the attached root.
    #[error("the path leads outside '{root}'")]
    Escapes {
        /// The attached real path it left.
        root: PathBuf,
    },
}

/// The components of a path: empty ones and `.` are dropped, everything else is
/// checked.
fn components(path: &str) -> Result<Vec<&str>, Refused> {
    if path.len() > MAX_PATH_LEN {
        return Err(Refused::TooLong);
    }
    if path.contains('\0') {
        return Err(Refused::Nul);
    }
    let mut out = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err(Refused::Parent),
            c if c.len() > MAX_COMPONENT_LEN => return Err(Refused::ComponentTooLong),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn join(components: &[&str]) -> String {
    format!("/{}", components.join("/"))
}

/// The canonical form of a virtual path, as attachments are keyed: `/a/b` for
/// `a/b/`, `//a/./b` and `/a/b`.
pub fn normalize(virtual_path: &str) -> Result<String, Refused> {
    components(virtual_path).map(|components| join(&components))
}

/// A requested path matched to an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The attached real path (canonical when attached).
    pub root: PathBuf,
    /// The rest of the request below it: only normal components, possibly none.
    pub relative: PathBuf,
}

/// Matches `requested` to the attachment with the longest virtual path that is a
/// prefix of it, by components. Pure: no file system access.
pub fn locate(attached: &BTreeMap<String, PathBuf>, requested: &str) -> Result<Located, Refused> {
    let components = components(requested)?;
    (0..=components.len())
        .rev()
        .find_map(|split| {
            let (prefix, rest) = components.split_at(split);
            attached.get(&join(prefix)).map(|root| Located {
                root: root.clone(),
                relative: rest.iter().collect(),
            })
        })
        .ok_or(Refused::NotAttached)
}

/// What `open_confined` opened.
#[derive(Debug)]
pub struct Opened {
    /// The open file or directory.
    pub file: File,
    /// Its canonical path, under the root.
    pub path: PathBuf,
    /// Its metadata (of the target, symlinks followed).
    pub metadata: std::fs::Metadata,
}

/// A failure to open a located path: refused (404) or an I/O error (500).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The path leads nowhere the client may see.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The file system failed.
    #[error("cannot open '{path}': {source}")]
    Io {
        /// What was opened.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

/// Opens a located path, provided that it resolves (symlinks followed) under its
/// root, both before and after the open. Opens without blocking, so that a FIFO
/// planted in a sandbox cannot hang the reader.
pub fn open_confined(located: &Located) -> Result<Opened, OpenError> {
    let candidate = located.root.join(&located.relative);
    let canonical =
        std::fs::canonicalize(&candidate).map_err(|error| not_found_or(error, &candidate))?;
    confined(&located.root, &canonical)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(&canonical)
        .map_err(|error| not_found_or(error, &canonical))?;
    let opened = std::fs::read_link(fd_path(&file)).map_err(|source| OpenError::Io {
        path: canonical.clone(),
        source,
    })?;
    confined(&located.root, &opened)?;
    let metadata = file.metadata().map_err(|source| OpenError::Io {
        path: canonical.clone(),
        source,
    })?;
    Ok(Opened {
        file,
        path: canonical,
        metadata,
    })
}

/// The path through which an open descriptor can be used as a path (`read_dir`) and
/// whose link target is what the descriptor really refers to.
pub fn fd_path(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// Whether `path` (canonical) is `root` or under it, by components.
pub fn is_within(root: &Path, path: &Path) -> bool {
    path.starts_with(root)
}

fn confined(root: &Path, path: &Path) -> Result<(), Refused> {
    if is_within(root, path) {
        Ok(())
    } else {
        Err(Refused::Escapes {
            root: root.to_owned(),
        })
    }
}

/// Missing files, and paths through a file (`ENOTDIR`) or too deep a symlink chain
/// (`ELOOP`), are "not found"; any other error is the server's.
fn not_found_or(error: io::Error, path: &Path) -> OpenError {
    let missing = matches!(
        error.raw_os_error(),
        Some(nix::libc::ENOENT | nix::libc::ENOTDIR | nix::libc::ELOOP | nix::libc::ENAMETOOLONG)
    );
    if missing {
        OpenError::Refused(Refused::NotFound)
    } else {
        OpenError::Io {
            path: path.to_owned(),
            source: error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn attached() -> BTreeMap<String, PathBuf> {
        [
            ("/sandbox", "/work/s1"),
            ("/sandbox/inner", "/work/s2"),
            ("/slaves/a/frameworks/f/executors/e/runs/latest", "/work/s3"),
            ("/work/log", "/var/log/agent.log"),
        ]
        .into_iter()
        .map(|(v, r)| (v.to_owned(), PathBuf::from(r)))
        .collect()
    }

    fn located(root: &str, relative: &str) -> Result<Located, Refused> {
        Ok(Located {
            root: root.into(),
            relative: relative.into(),
        })
    }

    #[test]
    fn virtual_paths_normalize() {
        assert_eq!(normalize("a/b/").unwrap(), "/a/b");
        assert_eq!(normalize("//a/./b").unwrap(), "/a/b");
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("/a/../b"), Err(Refused::Parent));
    }

    #[test]
    fn the_longest_attached_prefix_wins() {
        let attached = attached();
        assert_eq!(locate(&attached, "/sandbox"), located("/work/s1", ""));
        assert_eq!(locate(&attached, "/sandbox/"), located("/work/s1", ""));
        assert_eq!(
            locate(&attached, "/sandbox/a/b"),
            located("/work/s1", "a/b")
        );
        assert_eq!(locate(&attached, "sandbox//./a"), located("/work/s1", "a"));
        assert_eq!(
            locate(&attached, "/sandbox/inner/x"),
            located("/work/s2", "x")
        );
        assert_eq!(
            locate(&attached, "/sandbox/innerx"),
            located("/work/s1", "innerx")
        );
        assert_eq!(
            locate(&attached, "/work/log"),
            located("/var/log/agent.log", "")
        );
        assert_eq!(
            locate(
                &attached,
                "/slaves/a/frameworks/f/executors/e/runs/latest/stdout"
            ),
            located("/work/s3", "stdout")
        );
    }

    #[test]
    fn unattached_and_hostile_paths_are_refused() {
        let attached = attached();
        assert_eq!(locate(&attached, "/sandboxes"), Err(Refused::NotAttached));
        assert_eq!(locate(&attached, "/etc/passwd"), Err(Refused::NotAttached));
        assert_eq!(locate(&attached, "/"), Err(Refused::NotAttached));
        assert_eq!(locate(&attached, ""), Err(Refused::NotAttached));
        assert_eq!(locate(&attached, "/sandbox/../etc"), Err(Refused::Parent));
        assert_eq!(locate(&attached, "/sandbox/a/.."), Err(Refused::Parent));
        assert_eq!(locate(&attached, "/sandbox/a\0b"), Err(Refused::Nul));
        let long = format!("/sandbox/{}", "a".repeat(MAX_COMPONENT_LEN + 1));
        assert_eq!(locate(&attached, &long), Err(Refused::ComponentTooLong));
        let deep = format!("/sandbox{}", "/a".repeat(MAX_PATH_LEN / 2));
        assert_eq!(locate(&attached, &deep), Err(Refused::TooLong));
    }

    #[test]
    fn a_path_within_a_root_is_compared_by_components() {
        assert!(is_within(Path::new("/a/b"), Path::new("/a/b")));
        assert!(is_within(Path::new("/a/b"), Path::new("/a/b/c")));
        assert!(!is_within(Path::new("/a/b"), Path::new("/a/bc")));
        assert!(!is_within(Path::new("/a/b"), Path::new("/a")));
    }

    /// Characters that make interesting paths: separators, dots, NUL, and letters.
    fn hostile_path() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("/".to_owned()),
                Just(".".to_owned()),
                Just("..".to_owned()),
                Just("\0".to_owned()),
                Just("sandbox".to_owned()),
                Just("inner".to_owned()),
                Just("etc".to_owned()),
                "[a-z%~ ]{1,3}",
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn no_located_path_escapes_its_root(requested in hostile_path()) {
            if let Ok(found) = locate(&attached(), &requested) {
                let joined = found.root.join(&found.relative);
                prop_assert!(found.relative.is_relative());
                prop_assert!(found
                    .relative
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))));
                prop_assert!(joined.starts_with(&found.root));
                prop_assert!(attached().values().any(|root| *root == found.root));
            }
        }

        #[test]
        fn any_text_locates_without_panicking(requested in ".{0,300}") {
            let _ = locate(&attached(), &requested);
        }
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused_after_resolution() {
        let dir = std::env::temp_dir().join(format!("mesos-files-resolve-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/file"), b"x").unwrap();
        std::fs::write(dir.join("outside"), b"secret").unwrap();
        let _ = std::os::unix::fs::symlink("/etc", root.join("etc"));
        let _ = std::os::unix::fs::symlink(dir.join("outside"), root.join("out"));
        let _ = std::os::unix::fs::symlink("sub/file", root.join("in"));
        let root = std::fs::canonicalize(&root).unwrap();
        let at = |relative: &str| Located {
            root: root.clone(),
            relative: relative.into(),
        };
        assert!(open_confined(&at("sub/file")).is_ok());
        assert_eq!(
            open_confined(&at("in")).unwrap().path,
            root.join("sub/file")
        );
        assert!(open_confined(&at("")).unwrap().metadata.is_dir());
        for escaping in ["etc", "etc/passwd", "out"] {
            assert!(
                matches!(
                    open_confined(&at(escaping)),
                    Err(OpenError::Refused(Refused::Escapes { .. }))
                ),
                "{escaping}"
            );
        }
        assert!(matches!(
            open_confined(&at("missing")),
            Err(OpenError::Refused(Refused::NotFound))
        ));
        assert!(matches!(
            open_confined(&at("sub/file/below")),
            Err(OpenError::Refused(Refused::NotFound))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

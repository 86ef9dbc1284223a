//! Both storages, with real files in a temporary directory for `File`.

use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::registrar::registry::tests::sample;
use crate::registrar::registry::DecodeError;

/// A fresh directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let unique = format!(
            "mesos-master-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        fs::create_dir_all(&path).expect("the temporary directory can be created");
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn names_in(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_file_round_trips_the_registry() {
    let dir = TempDir::new("round-trip");
    let file = File::new(dir.path());
    let registry = Arc::new(sample());
    file.store(registry.clone()).await.unwrap();
    assert_eq!(file.fetch().await.unwrap().as_ref(), Some(&*registry));

    let mut changed = sample();
    changed.agents.clear();
    file.store(Arc::new(changed.clone())).await.unwrap();
    assert_eq!(file.fetch().await.unwrap(), Some(changed));
    assert_eq!(
        names_in(dir.path()),
        [REGISTRY_FILE_NAME],
        "no temporary file is left"
    );
}

#[tokio::test]
async fn a_missing_file_is_an_empty_start() {
    let dir = TempDir::new("missing");
    assert_eq!(File::new(dir.path()).fetch().await.unwrap(), None);
    let never_created = dir.path().join("work");
    assert_eq!(File::new(&never_created).fetch().await.unwrap(), None);
    File::new(&never_created)
        .store(Arc::new(Registry::default()))
        .await
        .unwrap();
    assert!(
        never_created.join(REGISTRY_FILE_NAME).exists(),
        "the work dir is created"
    );
}

#[tokio::test]
async fn a_damaged_file_is_an_error_naming_it() {
    let dir = TempDir::new("damaged");
    let file = File::new(dir.path());
    file.store(Arc::new(sample())).await.unwrap();
    let bytes = fs::read(file.path()).unwrap();
    for damage in [&bytes[..bytes.len() / 2], b"", b"\0\0\0\0"] {
        fs::write(file.path(), damage).unwrap();
        let error = file.fetch().await.unwrap_err();
        assert!(
            matches!(
                &error,
                StorageError::Decode {
                    source: DecodeError::Malformed(_),
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(
            error.to_string().contains(&*file.path().to_string_lossy()),
            "{error}"
        );
    }
}

#[tokio::test]
async fn an_unknown_version_is_an_error() {
    let dir = TempDir::new("version");
    let file = File::new(dir.path());
    fs::write(
        file.path(),
        br#"{"version": 99, "registry": {"future": true}}"#,
    )
    .unwrap();
    let error = file.fetch().await.unwrap_err();
    assert!(
        matches!(
            &error,
            StorageError::Decode {
                source: DecodeError::UnknownVersion { found: 99 },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("version 99"), "{error}");
}

#[tokio::test]
async fn sizes_beyond_the_bound_are_refused_both_ways() {
    let dir = TempDir::new("too-large");
    let file = File::new(dir.path()).with_max_size(64);
    let error = file.store(Arc::new(sample())).await.unwrap_err();
    assert!(
        matches!(error, StorageError::TooLarge { max: 64, .. }),
        "{error:?}"
    );
    assert!(!file.path().exists(), "nothing unreadable is written");
    fs::write(file.path(), vec![b' '; 65]).unwrap();
    let error = file.fetch().await.unwrap_err();
    assert!(
        matches!(error, StorageError::TooLarge { size: 65, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_failed_write_leaves_the_old_registry_whole() {
    let dir = TempDir::new("failed-write");
    let file = File::new(dir.path());
    file.store(Arc::new(sample())).await.unwrap();
    // A directory where the temporary file goes makes the write fail, even as root.
    fs::create_dir(file.temporary_path()).unwrap();
    let error = file.store(Arc::new(Registry::default())).await.unwrap_err();
    assert!(
        matches!(
            error,
            StorageError::Io {
                action: "create",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(file.fetch().await.unwrap(), Some(sample()));
}

#[tokio::test]
async fn a_partial_file_from_a_crash_is_ignored_and_replaced() {
    let dir = TempDir::new("crash");
    let file = File::new(dir.path());
    file.store(Arc::new(sample())).await.unwrap();
    // What a crash in the middle of a write leaves.
    fs::write(file.temporary_path(), b"{\"version\": 1, \"regis").unwrap();
    assert_eq!(file.fetch().await.unwrap(), Some(sample()));
    file.store(Arc::new(Registry::default())).await.unwrap();
    assert_eq!(file.fetch().await.unwrap(), Some(Registry::default()));
    assert_eq!(names_in(dir.path()), [REGISTRY_FILE_NAME]);
}

#[tokio::test]
async fn in_memory_clones_share_the_registry() {
    let storage = InMemory::new();
    assert_eq!(storage.fetch().await.unwrap(), None);
    storage.store(Arc::new(sample())).await.unwrap();
    assert_eq!(storage.clone().fetch().await.unwrap(), Some(sample()));
}

#[test]
fn flags_choose_the_storage() {
    let in_memory = Flags {
        registry: RegistryBackend::InMemory,
        ..Flags::default()
    };
    assert!(format!("{:?}", from_flags(&in_memory).unwrap()).starts_with("InMemory"));
    let file = Flags {
        work_dir: Some("/var/lib/mesos".into()),
        ..Flags::default()
    };
    let storage = format!("{:?}", from_flags(&file).unwrap());
    assert!(
        storage.contains("/var/lib/mesos/registry.json"),
        "{storage}"
    );
    assert!(from_flags(&Flags::default()).is_err());
}

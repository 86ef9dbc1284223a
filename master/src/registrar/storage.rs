//! Where the registry is kept (Mesos's `State` backends): [`File`] under `--work_dir`
//! by default (Mesos's `--registry=replicated_log`), [`ZooKeeper`] when `--zk` is set
//! (shared by the masters, written with a compare-and-swap), [`InMemory`] for tests
//! (`--registry=in_memory`).
//!
//! A file is replaced atomically: the new registry is written to a temporary file in
//! the same directory, synced, renamed over the old one, and the directory is synced,
//! so that a crash at any point leaves either the old registry or the new one. Reading
//! tells a missing file (a new cluster: the registry starts empty) from a damaged one,
//! which is an error naming the file: the master must not start with an empty registry
//! when it had a real one, because it would forget every agent it admitted.

use std::fmt;
use std::fs;
use std::future::Future;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use super::registry::{decode, encode, DecodeError, Registry};
pub use zookeeper::{check_manifest, ZooKeeper};

mod chunks;
pub use chunks::split as chunk;
mod zookeeper;
use crate::flags::{FlagError, Flags, RegistryBackend};

/// What a storage operation resolves to. Storage futures own what they need, so the
/// registrar can run them off its process.
pub type StorageFuture<T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send>>;

/// A place to keep the registry. The registrar has at most one operation in flight.
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// Reads the stored registry: `None` when none was ever stored.
    fn fetch(&self) -> StorageFuture<Option<Registry>>;

    /// Replaces the stored registry, resolving once the new one is durable.
    fn store(&self, registry: Arc<Registry>) -> StorageFuture<()>;
}

/// Why the registry could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A file system call failed.
    #[error("could not {action} '{}': {source}", .path.display())]
    Io {
        /// What was being done (`open`, `write`, `rename`...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The stored registry is damaged, or of a version this master does not read. It
    /// is never silently replaced by an empty one.
    #[error("cannot read the registry at '{}': {source}", .path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        source: DecodeError,
    },
    /// The registry is larger than the storage accepts.
    #[error("the registry at '{}' would be {size} bytes, more than the {max} allowed", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size, or the size of the registry to write.
        size: u64,
        /// The bound.
        max: u64,
    },
    /// The registry could not be encoded.
    #[error("could not encode the registry: {0}")]
    Encode(#[source] serde_json::Error),
    /// ZooKeeper refused an operation on the registry's znodes.
    #[error("ZooKeeper refused to {action} '{path}': {source}")]
    ZooKeeper {
        /// What was attempted.
        action: &'static str,
        /// The znode.
        path: String,
        /// What ZooKeeper said.
        source: zookeeper_client::Error,
    },
    /// Another master wrote the registry since this one read it: this master no
    /// longer leads and must not write.
    #[error("the registry at ZooKeeper node '{path}' was written by another master since this one read it")]
    Conflict {
        /// The manifest's znode.
        path: String,
    },
    /// The registry's znodes do not hold a registry this master can read.
    #[error("the registry at ZooKeeper node '{path}' is damaged: {reason}")]
    Corrupt {
        /// The manifest's znode.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The operation took longer than Mesos allows (`--registry_fetch_timeout`,
    /// `--registry_store_timeout` defaults).
    #[error("the registry {action} did not complete within {after:?}")]
    Timeout {
        /// `fetch` or `store`.
        action: &'static str,
        /// The bound.
        after: std::time::Duration,
    },
    /// The task doing the blocking I/O did not finish (it panicked, or the runtime is
    /// shutting down).
    #[error("the registry I/O task did not finish: {0}")]
    Task(String),
}

/// The registry file's name under `--work_dir`.
pub const REGISTRY_FILE_NAME: &str = "registry.json";

/// The largest registry file read or written by default: far above what a cluster of
/// tens of thousands of agents needs, and a bound on what a wrong file can make the
/// master allocate.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// The registry in one JSON file, `<work_dir>/registry.json`, replaced atomically.
#[derive(Debug, Clone)]
pub struct File {
    path: PathBuf,
    max_size: u64,
}

impl File {
    /// The registry file under `work_dir`, which is created at the first store.
    pub fn new(work_dir: &Path) -> File {
        File {
            path: work_dir.join(REGISTRY_FILE_NAME),
            max_size: DEFAULT_MAX_FILE_SIZE,
        }
    }

    /// The same file with another size bound, for both reading and writing.
    pub fn with_max_size(self, max_size: u64) -> File {
        File { max_size, ..self }
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file a new registry is written to before it replaces the old one.
    pub fn temporary_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".tmp");
        PathBuf::from(name)
    }

    /// Reads the file, synchronously.
    fn read(&self) -> Result<Option<Registry>, StorageError> {
        let io = |action| {
            let path = self.path.clone();
            move |source| StorageError::Io {
                action,
                path,
                source,
            }
        };
        let file = match fs::File::open(&self.path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            opened => opened.map_err(io("open"))?,
        };
        let size = file.metadata().map_err(io("inspect"))?.len();
        self.check_size(size)?;
        let mut bytes = Vec::new();
        // Read one byte past the bound, in case the file grew since it was inspected.
        file.take(self.max_size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io("read"))?;
        self.check_size(bytes.len() as u64)?;
        decode(&bytes)
            .map(Some)
            .map_err(|source| StorageError::Decode {
                path: self.path.clone(),
                source,
            })
    }

    /// Replaces the file atomically, synchronously.
    fn write(&self, registry: &Registry) -> Result<(), StorageError> {
        let bytes = encode(registry).map_err(StorageError::Encode)?;
        // Never write a registry this master could not read back.
        self.check_size(bytes.len() as u64)?;
        let directory = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        fs::create_dir_all(directory).map_err(|source| StorageError::Io {
            action: "create the directory",
            path: directory.to_owned(),
            source,
        })?;
        let temporary = self.temporary_path();
        let written = write_synced(&temporary, &bytes).and_then(|()| {
            fs::rename(&temporary, &self.path).map_err(|source| StorageError::Io {
                action: "replace the registry with",
                path: temporary.clone(),
                source,
            })
        });
        if written.is_err() {
            // Leave no partial file behind; the old registry is intact.
            let _ = fs::remove_file(&temporary);
        }
        written?;
        sync_directory(directory)
    }

    fn check_size(&self, size: u64) -> Result<(), StorageError> {
        if size <= self.max_size {
            return Ok(());
        }
        Err(StorageError::TooLarge {
            path: self.path.clone(),
            size,
            max: self.max_size,
        })
    }
}

impl Storage for File {
    fn fetch(&self) -> StorageFuture<Option<Registry>> {
        let file = self.clone();
        Box::pin(blocking(move || file.read()))
    }

    fn store(&self, registry: Arc<Registry>) -> StorageFuture<()> {
        let file = self.clone();
        Box::pin(blocking(move || file.write(&registry)))
    }
}

/// Runs blocking file I/O on tokio's blocking threads, off the runtime's workers.
async fn blocking<T, F>(io: F) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
{
    tokio::task::spawn_blocking(io)
        .await
        .map_err(|error| StorageError::Task(error.to_string()))?
}

/// Writes `bytes` to a new file at `path` and syncs it to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let io = |action| {
        move |source| StorageError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let mut file = fs::File::create(path).map_err(io("create"))?;
    file.write_all(bytes).map_err(io("write"))?;
    file.sync_all().map_err(io("sync"))
}

/// Syncs a directory, so that a rename in it survives a crash.
fn sync_directory(directory: &Path) -> Result<(), StorageError> {
    fs::File::open(directory)
        .and_then(|directory| directory.sync_all())
        .map_err(|source| StorageError::Io {
            action: "sync the directory",
            path: directory.to_owned(),
            source,
        })
}

/// The storage that `--registry`, `--zk` and `--work_dir` ask for: memory for
/// `in_memory`; for `replicated_log`, ZooKeeper under the `--zk` path when it is set
/// (the masters share it), else the registry file under the work dir.
pub fn from_flags(flags: &Flags) -> Result<Box<dyn Storage>, FlagError> {
    match (flags.registry, &flags.zk, &flags.work_dir) {
        (RegistryBackend::InMemory, _, _) => Ok(Box::new(InMemory::new())),
        (RegistryBackend::ReplicatedLog, Some(zk), _) => {
            let url = mesos_detector::zookeeper::ZooKeeperUrl::parse(zk).map_err(|error| {
                FlagError::InvalidValue {
                    flag: "zk",
                    value: zk.clone(),
                    reason: error.to_string(),
                }
            })?;
            Ok(Box::new(ZooKeeper::new(url, flags.zk_session_timeout)))
        }
        (RegistryBackend::ReplicatedLog, None, Some(work_dir)) => Ok(Box::new(File::new(work_dir))),
        (RegistryBackend::ReplicatedLog, None, None) => Err(FlagError::missing_work_dir()),
    }
}

/// The registry in memory, lost when the last clone is dropped (`--registry=in_memory`).
/// Clones share it, so a test can "restart" a registrar on the same storage.
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    stored: Arc<Mutex<Option<Arc<Registry>>>>,
}

impl InMemory {
    /// An empty storage.
    pub fn new() -> InMemory {
        InMemory::default()
    }
}

impl Storage for InMemory {
    fn fetch(&self) -> StorageFuture<Option<Registry>> {
        // A poisoned lock still holds a whole registry: it is only ever replaced.
        let stored = self.stored.lock().unwrap_or_else(PoisonError::into_inner);
        let registry = stored.as_deref().cloned();
        Box::pin(async move { Ok(registry) })
    }

    fn store(&self, registry: Arc<Registry>) -> StorageFuture<()> {
        *self.stored.lock().unwrap_or_else(PoisonError::into_inner) = Some(registry);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
pub(crate) mod tests;

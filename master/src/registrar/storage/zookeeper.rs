//! The registry in ZooKeeper (`--zk` with `--registry=replicated_log`), written with a
//! compare-and-swap so that two masters can never both write it.
//!
//! A znode holds at most about 1 MB and ZooKeeper keeps every byte in memory, so the
//! registry's compact JSON is cut into content-defined chunks ([`chunks`]) and a
//! store writes only the chunks that changed:
//!
//! ```text
//!   <path>/registry                    manifest: {"format", "size", "chunks": [{"name", "size"}]}
//!   <path>/registry-<generation>-<i>   one chunk, at most 512 KiB, named by the store
//!                                      that first wrote it
//! ```
//!
//! A store creates its new chunks under a fresh generation (a UUID, so masters never
//! create the same name), reuses the chunks of the manifest it knows whose bytes did
//! not change, then replaces the manifest only if its ZooKeeper version is still the
//! one this master last read or wrote, and finally deletes the chunks the old manifest
//! named and the new one does not. A reader therefore always finds the chunks the
//! manifest names. Another master's write since (a new leader stores the registry as
//! soon as it recovers) makes the version check fail: the store fails with
//! [`StorageError::Conflict`] and the registrar refuses everything after, so the old
//! leader stops. Chunks left by a master that died mid-store are named by no manifest;
//! a master removes them at its first store after it read the registry.
//!
//! A lost connection or an expired session fails nothing: every step is idempotent
//! (a chunk found created was created by this store; the manifest is read back when
//! the reply to its write was lost), so it is retried, on a new session if need be,
//! until `--registry_store_timeout`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use mesos_detector::zookeeper::{self as detector, ZooKeeperUrl};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use zookeeper_client as zk;

use super::chunks;
use super::{blocking, Storage, StorageError, StorageFuture};
use crate::registrar::registry::{decode, encode_compact, Registry};

/// The manifest's `format`: what this master writes and reads.
const FORMAT: &str = "mesos-rs-registry/2";

/// The prefix of every chunk's name.
const CHUNK_PREFIX: &str = "registry-";

/// The most chunks a manifest may name: 1 GiB of registry at the largest chunks.
const MAX_CHUNKS: usize = 2048;

/// Mesos's `--registry_fetch_timeout` default: a fetch that takes longer fails.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Mesos's `--registry_store_timeout` default: a store that takes longer fails.
const STORE_TIMEOUT: Duration = Duration::from_secs(20);

/// The wait between retries of an operation whose connection or session was lost.
const RETRY_INTERVAL: Duration = Duration::from_millis(200);

/// What the manifest znode says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    format: String,
    /// The registry's bytes: the chunks' sizes add up to this.
    size: u64,
    /// The registry's chunks, in order.
    chunks: Vec<Chunk>,
}

/// One chunk, as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Chunk {
    /// Its znode's name under the registry's path.
    name: String,
    size: u64,
}

/// The registry as this master last read or wrote it.
#[derive(Debug)]
enum Known {
    /// Nothing fetched yet: a store must follow a fetch.
    Unknown,
    /// There was no registry: a store creates the manifest.
    Absent,
    /// The manifest at this ZooKeeper version, and the bytes its chunks hold.
    At {
        version: i32,
        manifest: Manifest,
        bytes: Arc<Vec<u8>>,
    },
}

/// The registry under a ZooKeeper path, one session per storage.
#[derive(Debug, Clone)]
pub struct ZooKeeper {
    url: ZooKeeperUrl,
    session_timeout: Duration,
    state: Arc<Mutex<Session>>,
}

#[derive(Debug)]
struct Session {
    client: Option<zk::Client>,
    known: Known,
    /// Chunks that no manifest names may be left by a master that died mid-store:
    /// the first store after a fetch removes them.
    sweep: bool,
}

/// What a store writes: the registry's bytes and how they are cut.
struct Encoded {
    bytes: Arc<Vec<u8>>,
    chunks: Vec<Range<usize>>,
}

impl ZooKeeper {
    /// The registry under `url`'s path (`<path>/registry`), through sessions with this
    /// timeout. Nothing is connected until the first fetch.
    pub fn new(url: ZooKeeperUrl, session_timeout: Duration) -> ZooKeeper {
        ZooKeeper {
            url,
            session_timeout,
            state: Arc::new(Mutex::new(Session {
                client: None,
                known: Known::Unknown,
                sweep: false,
            })),
        }
    }

    /// The manifest's znode.
    pub fn manifest_path(&self) -> String {
        format!("{}/registry", self.url.path)
    }

    fn chunk_path(&self, name: &str) -> String {
        format!("{}/{name}", self.url.path)
    }

    /// A client on a live session: the session's, or a new one when it has ended.
    async fn client(&self, session: &mut Session) -> zk::Client {
        if let Some(client) = &session.client {
            if !client.state().is_terminated() {
                return client.clone();
            }
        }
        let client = loop {
            match detector::connect(&self.url, self.session_timeout).await {
                Ok(client) => break client,
                Err(error) => {
                    tracing::warn!(zk = %self.url, %error, "Failed to connect to ZooKeeper for the registry; retrying");
                    tokio::time::sleep(RETRY_INTERVAL).await;
                }
            }
        };
        session.client = Some(client.clone());
        client
    }

    /// Runs `operation` until it succeeds or ZooKeeper answers no: a lost connection
    /// is retried on the same session, an ended session on a new one (the caller's
    /// timeout bounds it all).
    async fn retry<T, F, Fut>(
        &self,
        session: &mut Session,
        action: &'static str,
        path: &str,
        operation: F,
    ) -> Result<T, StorageError>
    where
        F: Fn(zk::Client) -> Fut,
        Fut: Future<Output = Result<T, zk::Error>>,
    {
        loop {
            let client = self.client(session).await;
            match operation(client).await {
                Err(error) if detector::is_retryable(&error) => {
                    tracing::debug!(%path, %error, "ZooKeeper operation on the registry interrupted; retrying");
                    tokio::time::sleep(RETRY_INTERVAL).await;
                }
                result => {
                    return result.map_err(|source| StorageError::ZooKeeper {
                        action,
                        path: path.to_owned(),
                        source,
                    })
                }
            }
        }
    }

    /// A znode's data and version, `None` when it does not exist.
    async fn read(
        &self,
        session: &mut Session,
        path: &str,
    ) -> Result<Option<(Vec<u8>, i32)>, StorageError> {
        self.retry(session, "read", path, |client| async move {
            match client.get_data(path).await {
                Ok((data, stat)) => Ok(Some((data, stat.version))),
                Err(zk::Error::NoNode) => Ok(None),
                Err(error) => Err(error),
            }
        })
        .await
    }

    async fn fetch_now(&self) -> Result<Option<Registry>, StorageError> {
        let mut session = self.state.lock().await;
        let path = self.manifest_path();
        let Some((data, version)) = self.read(&mut session, &path).await? else {
            session.known = Known::Absent;
            return Ok(None);
        };
        let manifest = parse_manifest(&path, &data)?;
        let started = std::time::Instant::now();
        let bytes = Arc::new(self.read_chunks(&mut session, &manifest).await?);
        let read = started.elapsed();
        let decoded = bytes.clone();
        let registry = blocking(move || {
            decode(&decoded).map_err(|source| StorageError::Decode {
                path: path.into(),
                source,
            })
        })
        .await?;
        tracing::info!(
            bytes = bytes.len(),
            chunks = manifest.chunks.len(),
            read_ms = read.as_millis(),
            decode_ms = (started.elapsed() - read).as_millis(),
            "Fetched the registry from ZooKeeper"
        );
        session.known = Known::At {
            version,
            manifest,
            bytes,
        };
        session.sweep = true;
        Ok(Some(registry))
    }

    /// The bytes of the manifest's chunks, in order. The reads are sent all at once,
    /// so a new leader waits for one round trip, not one per chunk.
    async fn read_chunks(
        &self,
        session: &mut Session,
        manifest: &Manifest,
    ) -> Result<Vec<u8>, StorageError> {
        let manifest_path = self.manifest_path();
        let mut bytes = Vec::with_capacity(usize::try_from(manifest.size).unwrap_or(0));
        let paths: Vec<String> = manifest
            .chunks
            .iter()
            .map(|chunk| self.chunk_path(&chunk.name))
            .collect();
        let client = self.client(session).await;
        let pending: Vec<_> = paths.iter().map(|path| client.get_data(path)).collect();
        for ((chunk, path), reply) in manifest.chunks.iter().zip(&paths).zip(pending) {
            let data = match reply.await {
                Ok((data, _)) => data,
                Err(error) if detector::is_retryable(&error) => self
                    .read(session, path)
                    .await?
                    .map(|(data, _)| data)
                    .ok_or_else(|| missing(&manifest_path, path))?,
                Err(zk::Error::NoNode) => return Err(missing(&manifest_path, path)),
                Err(source) => {
                    return Err(StorageError::ZooKeeper {
                        action: "read",
                        path: path.clone(),
                        source,
                    })
                }
            };
            if data.len() as u64 != chunk.size {
                return Err(corrupt(
                    &manifest_path,
                    format!(
                        "its chunk '{path}' holds {} bytes, the manifest says {}",
                        data.len(),
                        chunk.size
                    ),
                ));
            }
            bytes.extend_from_slice(&data);
        }
        Ok(bytes)
    }

    async fn store_now(&self, registry: Arc<Registry>) -> Result<(), StorageError> {
        let started = std::time::Instant::now();
        let encoded = blocking(move || {
            let bytes = encode_compact(&registry).map_err(StorageError::Encode)?;
            let chunks = chunks::split(&bytes);
            Ok(Encoded {
                bytes: Arc::new(bytes),
                chunks,
            })
        })
        .await?;
        let encoding = started.elapsed();
        let mut session = self.state.lock().await;
        let path = self.manifest_path();
        let (previous, known_bytes) = match &session.known {
            Known::Unknown => return Err(corrupt(&path, "stored before it was fetched".into())),
            Known::Absent => (None, None),
            Known::At {
                version,
                manifest,
                bytes,
            } => (Some((*version, manifest.clone())), Some(bytes.clone())),
        };
        let (manifest, created) = plan(
            &encoded,
            previous.as_ref().map(|(_, manifest)| manifest),
            known_bytes.as_deref().map(Vec::as_slice),
        );
        if previous.is_none() {
            let parent = &self.url.path;
            self.retry(&mut session, "create", parent, |client| async move {
                client.mkdir(parent, &persistent()).await
            })
            .await?;
        }
        self.create_chunks(&mut session, &encoded, &manifest, &created)
            .await?;
        let data = serde_json::to_vec(&manifest).map_err(StorageError::Encode)?;
        let expected = previous.as_ref().map(|(version, _)| *version);
        match self.swap_manifest(&mut session, &data, expected).await {
            Ok(version) => {
                tracing::debug!(
                    bytes = encoded.bytes.len(),
                    chunks = manifest.chunks.len(),
                    written = created.len(),
                    encode_ms = encoding.as_millis(),
                    elapsed_ms = started.elapsed().as_millis(),
                    "Stored the registry in ZooKeeper"
                );
                // Known first: a store cut short by its timeout while cleaning up must
                // not leave this master expecting a version it already replaced.
                session.known = Known::At {
                    version,
                    manifest: manifest.clone(),
                    bytes: encoded.bytes,
                };
                if let Some((_, old)) = &previous {
                    self.delete_unnamed(&mut session, old, &manifest).await;
                }
                if std::mem::take(&mut session.sweep) {
                    self.sweep(&mut session, &manifest).await;
                }
                Ok(())
            }
            Err(error) => {
                // The manifest was not replaced: the new chunks are named by nothing.
                let paths: Vec<String> = created
                    .iter()
                    .map(|&index| self.chunk_path(&manifest.chunks[index].name))
                    .collect();
                self.delete_all(&mut session, &paths).await;
                Err(error)
            }
        }
    }

    /// Creates the chunks `created` indexes in `manifest`, all requests sent at once.
    async fn create_chunks(
        &self,
        session: &mut Session,
        encoded: &Encoded,
        manifest: &Manifest,
        created: &[usize],
    ) -> Result<(), StorageError> {
        let options = persistent();
        let writes: Vec<(String, &[u8])> = created
            .iter()
            .map(|&index| {
                let path = self.chunk_path(&manifest.chunks[index].name);
                (path, &encoded.bytes[encoded.chunks[index].clone()])
            })
            .collect();
        let client = self.client(session).await;
        let pending: Vec<_> = writes
            .iter()
            .map(|(path, data)| client.create(path, data, &options))
            .collect();
        let mut interrupted = Vec::new();
        for ((path, data), reply) in writes.iter().zip(pending) {
            match reply.await {
                // NodeExists: created by this very store, before its reply was lost.
                Ok(_) | Err(zk::Error::NodeExists) => {}
                Err(error) if detector::is_retryable(&error) => interrupted.push((path, data)),
                Err(source) => {
                    return Err(StorageError::ZooKeeper {
                        action: "create",
                        path: path.clone(),
                        source,
                    })
                }
            }
        }
        for (path, data) in interrupted {
            self.retry(session, "create", path, |client| async move {
                match client.create(path, data, &persistent()).await {
                    Ok(_) | Err(zk::Error::NodeExists) => Ok(()),
                    Err(error) => Err(error),
                }
            })
            .await?;
        }
        Ok(())
    }

    /// Writes the manifest if it is still at `expected` (absent for `None`); resolves
    /// to its new version. A reply lost with the connection is settled by reading the
    /// manifest back: it holds this store's data (chunks of a fresh generation, or
    /// exactly the known manifest's) only if the write happened.
    async fn swap_manifest(
        &self,
        session: &mut Session,
        data: &[u8],
        expected: Option<i32>,
    ) -> Result<i32, StorageError> {
        let path = self.manifest_path();
        let options = persistent();
        loop {
            let client = self.client(session).await;
            let attempt = match expected {
                Some(version) => client
                    .set_data(&path, data, Some(version))
                    .await
                    .map(|stat| stat.version),
                None => client
                    .create(&path, data, &options)
                    .await
                    .map(|(stat, _)| stat.version),
            };
            match attempt {
                Ok(version) => return Ok(version),
                Err(zk::Error::BadVersion | zk::Error::NodeExists | zk::Error::NoNode) => {
                    return Err(StorageError::Conflict { path })
                }
                Err(error) if detector::is_retryable(&error) => {
                    tokio::time::sleep(RETRY_INTERVAL).await;
                    match self.read(session, &path).await? {
                        Some((now, version)) if now == data => return Ok(version),
                        Some((_, version)) if Some(version) == expected => continue,
                        None if expected.is_none() => continue,
                        _ => return Err(StorageError::Conflict { path }),
                    }
                }
                Err(source) => {
                    return Err(StorageError::ZooKeeper {
                        action: "write",
                        path,
                        source,
                    })
                }
            }
        }
    }

    /// Deletes the chunks `old` named that `current` does not. Best effort: a leftover
    /// only takes space until a later master's sweep.
    async fn delete_unnamed(&self, session: &mut Session, old: &Manifest, current: &Manifest) {
        let kept: HashSet<&str> = current.chunks.iter().map(|c| c.name.as_str()).collect();
        let paths: Vec<String> = old
            .chunks
            .iter()
            .filter(|chunk| !kept.contains(chunk.name.as_str()))
            .map(|chunk| self.chunk_path(&chunk.name))
            .collect();
        self.delete_all(session, &paths).await;
    }

    /// Deletes every chunk under the path that `current` does not name: those of
    /// stores that never completed.
    async fn sweep(&self, session: &mut Session, current: &Manifest) {
        let client = self.client(session).await;
        let Ok((children, _)) = client.get_children(&self.url.path).await else {
            return;
        };
        let named: HashSet<&str> = current.chunks.iter().map(|c| c.name.as_str()).collect();
        let paths: Vec<String> = children
            .iter()
            .filter(|child| child.starts_with(CHUNK_PREFIX) && !named.contains(child.as_str()))
            .map(|child| self.chunk_path(child))
            .collect();
        if !paths.is_empty() {
            tracing::info!(
                chunks = paths.len(),
                "Removing registry chunks no manifest names"
            );
        }
        self.delete_all(session, &paths).await;
    }

    async fn delete_all(&self, session: &mut Session, paths: &[String]) {
        let client = self.client(session).await;
        let pending: Vec<_> = paths.iter().map(|path| client.delete(path, None)).collect();
        for reply in pending {
            let _ = reply.await;
        }
    }
}

/// The manifest of `encoded`, and the indexes of its chunks to create: a chunk whose
/// bytes the known manifest already holds keeps that chunk's name.
fn plan(
    encoded: &Encoded,
    known: Option<&Manifest>,
    known_bytes: Option<&[u8]>,
) -> (Manifest, Vec<usize>) {
    let mut reusable: HashMap<&[u8], &str> = HashMap::new();
    if let (Some(manifest), Some(bytes)) = (known, known_bytes) {
        let mut offset = 0usize;
        for chunk in &manifest.chunks {
            let end = offset + usize::try_from(chunk.size).unwrap_or(usize::MAX);
            if let Some(data) = bytes.get(offset..end) {
                reusable.insert(data, &chunk.name);
            }
            offset = end;
        }
    }
    let generation = uuid::Uuid::new_v4().simple().to_string();
    let mut created = Vec::new();
    let chunks = encoded
        .chunks
        .iter()
        .enumerate()
        .map(|(index, range)| {
            let data = &encoded.bytes[range.clone()];
            let name = match reusable.get(data) {
                Some(name) => (*name).to_owned(),
                None => {
                    created.push(index);
                    format!("{CHUNK_PREFIX}{generation}-{index}")
                }
            };
            Chunk {
                name,
                size: data.len() as u64,
            }
        })
        .collect();
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        size: encoded.bytes.len() as u64,
        chunks,
    };
    (manifest, created)
}

impl Storage for ZooKeeper {
    fn fetch(&self) -> StorageFuture<Option<Registry>> {
        let storage = self.clone();
        Box::pin(async move {
            tokio::time::timeout(FETCH_TIMEOUT, storage.fetch_now())
                .await
                .map_err(|_| StorageError::Timeout {
                    action: "fetch",
                    after: FETCH_TIMEOUT,
                })?
        })
    }

    fn store(&self, registry: Arc<Registry>) -> StorageFuture<()> {
        let storage = self.clone();
        Box::pin(async move {
            tokio::time::timeout(STORE_TIMEOUT, storage.store_now(registry))
                .await
                .map_err(|_| StorageError::Timeout {
                    action: "store",
                    after: STORE_TIMEOUT,
                })?
        })
    }
}

/// Checks the bytes of a manifest znode as a fetch reads them, for tools and fuzzing:
/// an error says what is wrong with them.
pub fn check_manifest(path: &str, data: &[u8]) -> Result<(), StorageError> {
    parse_manifest(path, data).map(|_| ())
}

/// Reads a manifest, refusing one whose chunks could not be a registry this master
/// wrote: names outside the registry's chunks, sizes that do not add up, or more
/// chunks or bytes than any registry needs.
fn parse_manifest(path: &str, data: &[u8]) -> Result<Manifest, StorageError> {
    let manifest: Manifest = serde_json::from_slice(data)
        .map_err(|error| corrupt(path, format!("not a registry manifest: {error}")))?;
    if manifest.format != FORMAT {
        return Err(corrupt(
            path,
            format!("format '{}', expecting '{FORMAT}'", manifest.format),
        ));
    }
    if manifest.chunks.len() > MAX_CHUNKS {
        return Err(corrupt(
            path,
            format!(
                "it names {} chunks, more than {MAX_CHUNKS}",
                manifest.chunks.len()
            ),
        ));
    }
    if let Some(chunk) = manifest
        .chunks
        .iter()
        .find(|chunk| !is_chunk_name(&chunk.name))
    {
        return Err(corrupt(
            path,
            format!("'{}' is not a chunk's name", chunk.name),
        ));
    }
    if let Some(chunk) = manifest
        .chunks
        .iter()
        .find(|chunk| chunk.size == 0 || chunk.size > chunks::MAX_CHUNK as u64)
    {
        return Err(corrupt(
            path,
            format!("its chunk '{}' would hold {} bytes", chunk.name, chunk.size),
        ));
    }
    let total: u64 = manifest.chunks.iter().map(|chunk| chunk.size).sum();
    if total != manifest.size {
        return Err(corrupt(
            path,
            format!(
                "its chunks hold {total} bytes, the manifest says {}",
                manifest.size
            ),
        ));
    }
    Ok(manifest)
}

/// `registry-` followed by letters, digits and dashes: a child of the registry's path.
fn is_chunk_name(name: &str) -> bool {
    name.len() <= 128
        && name.strip_prefix(CHUNK_PREFIX).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

fn missing(manifest_path: &str, chunk_path: &str) -> StorageError {
    corrupt(
        manifest_path,
        format!("its chunk '{chunk_path}' is missing"),
    )
}

fn corrupt(path: &str, reason: String) -> StorageError {
    StorageError::Corrupt {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(chunks: serde_json::Value, size: u64) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"format": FORMAT, "size": size, "chunks": chunks}))
            .unwrap()
    }

    #[test]
    fn a_manifest_names_only_chunks_that_add_up() {
        let good = manifest(
            serde_json::json!([{"name": "registry-ab12-0", "size": 3}, {"name": "registry-cd-1", "size": 4}]),
            7,
        );
        assert_eq!(parse_manifest("/m", &good).unwrap().chunks.len(), 2);
        let refused = [
            (b"{".to_vec(), "not a registry manifest"),
            (
                manifest(serde_json::json!([{"name": "../secret", "size": 3}]), 3),
                "not a chunk's name",
            ),
            (
                manifest(serde_json::json!([{"name": "registry-a/b", "size": 3}]), 3),
                "not a chunk's name",
            ),
            (
                manifest(serde_json::json!([{"name": "registry-a", "size": 3}]), 4),
                "the manifest says 4",
            ),
            (
                manifest(serde_json::json!([{"name": "registry-a", "size": 0}]), 0),
                "would hold 0 bytes",
            ),
            (
                manifest(
                    serde_json::json!([{"name": "registry-a", "size": u64::MAX}, {"name": "registry-b", "size": 2}]),
                    1,
                ),
                "would hold",
            ),
        ];
        for (data, reason) in refused {
            let error = parse_manifest("/m", &data).unwrap_err().to_string();
            assert!(error.contains(reason), "{error}");
        }
        let too_many: Vec<_> = (0..=MAX_CHUNKS)
            .map(|i| serde_json::json!({"name": format!("registry-a-{i}"), "size": 1}))
            .collect();
        let error = parse_manifest("/m", &manifest(serde_json::json!(too_many), 0)).unwrap_err();
        assert!(error.to_string().contains("more than"), "{error}");
    }

    fn encoded(bytes: Vec<u8>) -> Encoded {
        let chunks = chunks::split(&bytes);
        Encoded {
            bytes: Arc::new(bytes),
            chunks,
        }
    }

    #[test]
    fn a_store_creates_only_the_chunks_whose_bytes_changed() {
        let text = |agents: usize| -> Vec<u8> {
            (0..agents)
                .map(|i| format!("{{\"hostname\":\"agent-{i}\",\"id\":\"S{i}\"}},"))
                .collect::<String>()
                .into_bytes()
        };
        let first = encoded(text(20_000));
        let (manifest, created) = plan(&first, None, None);
        assert_eq!(
            created.len(),
            manifest.chunks.len(),
            "a first store creates all"
        );
        assert!(manifest.chunks.len() > 3);

        let second = encoded(text(20_001));
        let (next, created) = plan(&second, Some(&manifest), Some(&first.bytes));
        assert!(
            created.len() <= 2,
            "{} of {} created",
            created.len(),
            next.chunks.len()
        );
        assert_eq!(next.size, second.bytes.len() as u64);
        let reused = next
            .chunks
            .iter()
            .filter(|c| manifest.chunks.contains(c))
            .count();
        assert_eq!(reused + created.len(), next.chunks.len());
    }
}

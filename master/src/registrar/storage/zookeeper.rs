//! The registry in ZooKeeper (`--zk` with `--registry=replicated_log`), written with a
//! compare-and-swap so that two masters can never both write it.
//!
//! A znode holds at most about 1 MB, so the registry is split into chunks:
//!
//! ```text
//!   <path>/registry                      manifest: {"format", "generation", "chunks", "size"}
//!   <path>/registry-<generation>-<i>     chunk i of the registry's JSON, at most 512 KiB
//! ```
//!
//! A store writes the new generation's chunks first (the generation is a fresh UUID,
//! so masters never write the same chunk), then replaces the manifest only if its
//! ZooKeeper version is still the one this master last read or wrote, then deletes
//! the old generation's chunks. A reader therefore always finds the chunks the
//! manifest names. Another master's write since (a new leader stores the registry as
//! soon as it recovers) makes the version check fail: the store fails with
//! [`StorageError::Conflict`] and the registrar refuses everything after, so the old
//! leader stops. Chunks left by a master that died between the two steps are named by
//! no manifest and are removed by the next store.

use std::sync::Arc;
use std::time::Duration;

use mesos_detector::zookeeper::ZooKeeperUrl;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use zookeeper_client as zk;

use super::{Storage, StorageError, StorageFuture};
use crate::registrar::registry::{decode, encode, Registry};

/// The manifest's `format`: what this master writes and reads.
const FORMAT: &str = "mesos-rs-registry/1";

/// The largest chunk: half of ZooKeeper's default 1 MB `jute.maxbuffer`, leaving room
/// for the request's own framing.
pub(crate) const CHUNK_SIZE: usize = 512 * 1024;

/// Mesos's `--registry_fetch_timeout` default: a fetch that takes longer fails.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Mesos's `--registry_store_timeout` default: a store that takes longer fails.
const STORE_TIMEOUT: Duration = Duration::from_secs(20);

/// The wait between retries of an operation whose connection was lost.
const RETRY_INTERVAL: Duration = Duration::from_millis(200);

/// What the manifest znode says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    format: String,
    generation: String,
    chunks: u32,
    size: u64,
}

/// The manifest as this master last read or wrote it.
#[derive(Debug, Clone)]
enum Known {
    /// Nothing fetched yet: a store must follow a fetch.
    Unknown,
    /// There was no registry: a store creates the manifest.
    Absent,
    /// The manifest at this ZooKeeper version.
    At { version: i32, manifest: Manifest },
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
            })),
        }
    }

    /// The manifest's znode.
    pub fn manifest_path(&self) -> String {
        format!("{}/registry", self.url.path)
    }

    fn chunk_path(&self, generation: &str, index: u32) -> String {
        format!("{}/registry-{generation}-{index}", self.url.path)
    }

    /// A connected client: the session's, or a new one when it has ended.
    async fn client(&self, session: &mut Session) -> Result<zk::Client, StorageError> {
        if let Some(client) = &session.client {
            if !client.state().is_terminated() {
                return Ok(client.clone());
            }
        }
        let client = loop {
            let mut connector = zk::Client::connector()
                .with_session_timeout(self.session_timeout)
                .with_fail_eagerly();
            if let Some(credentials) = &self.url.credentials {
                let auth = format!("{}:{}", credentials.username, credentials.password);
                connector = connector.with_auth("digest", auth.as_bytes());
            }
            match connector.connect(&self.url.connect_string()).await {
                Ok(client) => break client,
                Err(error) => {
                    tracing::warn!(zk = %self.url, %error, "Failed to connect to ZooKeeper for the registry; retrying");
                    tokio::time::sleep(RETRY_INTERVAL).await;
                }
            }
        };
        session.client = Some(client.clone());
        Ok(client)
    }

    async fn fetch_now(&self) -> Result<Option<Registry>, StorageError> {
        let mut session = self.state.lock().await;
        let client = self.client(&mut session).await?;
        let path = self.manifest_path();
        let Some((data, version)) = read(&client, &path).await? else {
            session.known = Known::Absent;
            return Ok(None);
        };
        let manifest = parse_manifest(&path, &data)?;
        let mut bytes = Vec::with_capacity(usize::try_from(manifest.size).unwrap_or(0));
        for index in 0..manifest.chunks {
            let chunk_path = self.chunk_path(&manifest.generation, index);
            let (chunk, _) = read(&client, &chunk_path)
                .await?
                .ok_or_else(|| corrupt(&path, format!("its chunk '{chunk_path}' is missing")))?;
            bytes.extend_from_slice(&chunk);
        }
        if bytes.len() as u64 != manifest.size {
            return Err(corrupt(
                &path,
                format!(
                    "its chunks hold {} bytes, the manifest says {}",
                    bytes.len(),
                    manifest.size
                ),
            ));
        }
        let registry = decode(&bytes).map_err(|source| StorageError::Decode {
            path: path.clone().into(),
            source,
        })?;
        session.known = Known::At { version, manifest };
        Ok(Some(registry))
    }

    async fn store_now(&self, registry: &Registry) -> Result<(), StorageError> {
        let mut session = self.state.lock().await;
        let path = self.manifest_path();
        let previous = match &session.known {
            Known::Unknown => return Err(corrupt(&path, "stored before it was fetched".into())),
            Known::Absent => None,
            Known::At { version, manifest } => Some((*version, manifest.clone())),
        };
        let client = self.client(&mut session).await?;
        let bytes = encode(registry).map_err(StorageError::Encode)?;
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            generation: uuid::Uuid::new_v4().simple().to_string(),
            chunks: u32::try_from(bytes.chunks(CHUNK_SIZE).count()).unwrap_or(u32::MAX),
            size: bytes.len() as u64,
        };
        let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        let parent = &self.url.path;
        retry("create", parent, || client.mkdir(parent, &persistent)).await?;
        for (index, chunk) in (0..).zip(bytes.chunks(CHUNK_SIZE)) {
            let chunk_path = self.chunk_path(&manifest.generation, index);
            retry("create", &chunk_path, || async {
                match client.create(&chunk_path, chunk, &persistent).await {
                    // Created by this very call, before its reply was lost.
                    Ok(_) | Err(zk::Error::NodeExists) => Ok(()),
                    Err(error) => Err(error),
                }
            })
            .await?;
        }
        let data = serde_json::to_vec(&manifest).map_err(StorageError::Encode)?;
        let written = self
            .swap_manifest(&client, &data, previous.as_ref().map(|p| p.0))
            .await;
        match written {
            Ok(version) => {
                session.known = Known::At {
                    version,
                    manifest: manifest.clone(),
                };
                if let Some((_, old)) = previous {
                    self.delete_chunks(&client, &old).await;
                }
                Ok(())
            }
            Err(error) => {
                self.delete_chunks(&client, &manifest).await;
                Err(error)
            }
        }
    }

    /// Writes the manifest if it is still at `expected` (absent for `None`); resolves
    /// to its new version. A reply lost with the connection is settled by reading the
    /// manifest back: it holds this store's data (a fresh generation) only if the
    /// write happened.
    async fn swap_manifest(
        &self,
        client: &zk::Client,
        data: &[u8],
        expected: Option<i32>,
    ) -> Result<i32, StorageError> {
        let path = self.manifest_path();
        let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        loop {
            let attempt = match expected {
                Some(version) => client
                    .set_data(&path, data, Some(version))
                    .await
                    .map(|stat| stat.version),
                None => client
                    .create(&path, data, &persistent)
                    .await
                    .map(|(stat, _)| stat.version),
            };
            match attempt {
                Ok(version) => return Ok(version),
                Err(zk::Error::BadVersion | zk::Error::NodeExists | zk::Error::NoNode) => {
                    return Err(StorageError::Conflict { path })
                }
                Err(zk::Error::ConnectionLoss) => {
                    tokio::time::sleep(RETRY_INTERVAL).await;
                    match read(client, &path).await? {
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

    /// Deletes a generation's chunks, and any other generation's the manifest does not
    /// name (left by a master that died mid-store). Best effort: a leftover only takes
    /// space until the next store.
    async fn delete_chunks(&self, client: &zk::Client, gone: &Manifest) {
        for index in 0..gone.chunks {
            let _ = client
                .delete(&self.chunk_path(&gone.generation, index), None)
                .await;
        }
        let Ok((children, _)) = client.get_children(&self.url.path).await else {
            return;
        };
        let Ok(Some((data, _))) = read(client, &self.manifest_path()).await else {
            return;
        };
        let Ok(current) = parse_manifest(&self.manifest_path(), &data) else {
            return;
        };
        let keep = format!("registry-{}-", current.generation);
        for child in children {
            if child.starts_with("registry-") && !child.starts_with(&keep) {
                let _ = client
                    .delete(&format!("{}/{child}", self.url.path), None)
                    .await;
            }
        }
    }
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
            tokio::time::timeout(STORE_TIMEOUT, storage.store_now(&registry))
                .await
                .map_err(|_| StorageError::Timeout {
                    action: "store",
                    after: STORE_TIMEOUT,
                })?
        })
    }
}

/// A znode's data and version, `None` when it does not exist; a lost connection is
/// retried (the caller's timeout bounds it).
async fn read(client: &zk::Client, path: &str) -> Result<Option<(Vec<u8>, i32)>, StorageError> {
    retry("read", path, || async {
        match client.get_data(path).await {
            Ok((data, stat)) => Ok(Some((data, stat.version))),
            Err(zk::Error::NoNode) => Ok(None),
            Err(error) => Err(error),
        }
    })
    .await
}

/// Runs `operation` until it succeeds or fails other than by a lost connection.
async fn retry<T, F, Fut>(action: &'static str, path: &str, operation: F) -> Result<T, StorageError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, zk::Error>>,
{
    loop {
        match operation().await {
            Err(zk::Error::ConnectionLoss) => tokio::time::sleep(RETRY_INTERVAL).await,
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

fn parse_manifest(path: &str, data: &[u8]) -> Result<Manifest, StorageError> {
    let manifest: Manifest = serde_json::from_slice(data)
        .map_err(|error| corrupt(path, format!("not a registry manifest: {error}")))?;
    if manifest.format != FORMAT {
        return Err(corrupt(
            path,
            format!("format '{}', expecting '{FORMAT}'", manifest.format),
        ));
    }
    Ok(manifest)
}

fn corrupt(path: &str, reason: String) -> StorageError {
    StorageError::Corrupt {
        path: path.to_owned(),
        reason,
    }
}

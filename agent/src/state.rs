//! Checkpoint files and their recovery (Mesos `src/slave/state.cpp` and stout's
//! `protobuf::write`/`read`).
//!
//! The agent must survive its own restart without losing track of executors,
//! tasks and unacknowledged status updates, so it writes what it knows under
//! `<work_dir>/meta` (layout in [`crate::paths`]) and reads it back in
//! [`recover_agent`]. Two file shapes exist:
//!
//! - **Checkpoints** (`slave.info`, `framework.info`, `executor.info`,
//!   `task.info`) hold one record, written whole by [`checkpoint`] through
//!   [`write_atomically`] (temp file, fsync, rename, fsync dir), so a crash
//!   leaves either the old or the new file, never half of one. Each starts with
//!   a small header (magic, version, body length) so that a damaged or foreign
//!   file is a clear error naming its path instead of a confusing decode.
//! - **Records files** (`task.updates`) are appended to over a task's life:
//!   each record is a `u32` little-endian body length, then the postcard body
//!   of a [`StatusUpdateRecord`]. A crash mid-append can only tear the last
//!   record; [`read_records`] tolerates and reports that, and recovery cuts the
//!   torn bytes off so later appends stay readable. Damage before the end is
//!   an error. (Mesos writes the length native-endian; we fix the byte order so
//!   the files do not depend on the host.)
//!
//! Pid files and `boot_id` are plain text.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mesos_proto::messages::StatusUpdate;
use mesos_proto::AgentId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::paths::{self, PathError};

/// The first bytes of every checkpoint file.
pub const CHECKPOINT_MAGIC: [u8; 4] = *b"MCKP";

/// The checkpoint header version this code writes and reads.
pub const CHECKPOINT_VERSION: u8 = 1;

/// Header length: magic, version, `u32` body length.
const HEADER_LEN: usize = CHECKPOINT_MAGIC.len() + 1 + 4;

/// The largest checkpoint body accepted, so a damaged length cannot make
/// recovery allocate without bound.
pub const MAX_CHECKPOINT_SIZE: usize = 16 * 1024 * 1024;

/// The largest status update record accepted, for the same reason.
pub const MAX_RECORD_SIZE: usize = 4 * 1024 * 1024;

/// The largest pid or `boot_id` text file accepted.
const MAX_TEXT_SIZE: u64 = 4096;

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file system refused.
    #[error("failed to {action} '{path}': {source}")]
    Io {
        /// What was being done: `write`, `read`, `rename`, ...
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file exists but does not hold what it should.
    #[error("damaged checkpoint '{path}': {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A value could not be encoded for checkpointing.
    #[error("failed to encode checkpoint '{path}': {reason}")]
    Encode {
        /// The file it was meant for.
        path: PathBuf,
        /// What the codec said.
        reason: String,
    },
    /// An id cannot be a path component (a hostile id or a stray directory).
    #[error(transparent)]
    Path(#[from] PathError),
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> StateError {
    StateError::Corrupt {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Writes `bytes` to `path` so that a crash leaves the old content or the new,
/// never a mix: write a temp file in the same directory, fsync it, rename it
/// over `path`, fsync the directory. Creates missing parent directories.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = parent_dir(path)?;
    fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
    let temp = temp_path(path);
    let written = write_synced(&temp, bytes)
        .and_then(|()| fs::rename(&temp, path).map_err(io_error("rename", &temp)));
    if written.is_err() {
        // Best effort: a leftover temp file is harmless, only untidy.
        let _ = fs::remove_file(&temp);
    }
    written?;
    sync_dir(dir)
}

fn parent_dir(path: &Path) -> Result<&Path, StateError> {
    match path.parent() {
        Some(dir) if path.file_name().is_some() => Ok(dir),
        _ => Err(corrupt(path, "not a file path")),
    }
}

/// A name beside `path` that no concurrent writer in this process or another
/// one picks too.
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_error("create", path))?;
    file.write_all(bytes).map_err(io_error("write", path))?;
    file.sync_all().map_err(io_error("fsync", path))
}

fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("fsync directory", dir))
}

/// Checkpoints `value` at `path`: header plus postcard body, written
/// atomically.
pub fn checkpoint<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    let body = encode(path, value)?;
    if body.len() > MAX_CHECKPOINT_SIZE {
        return Err(StateError::Encode {
            path: path.to_owned(),
            reason: format!(
                "{} bytes exceed the {MAX_CHECKPOINT_SIZE} byte limit",
                body.len()
            ),
        });
    }
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(&CHECKPOINT_MAGIC);
    bytes.push(CHECKPOINT_VERSION);
    bytes.extend_from_slice(&length_prefix(body.len()));
    bytes.extend_from_slice(&body);
    write_atomically(path, &bytes)
}

/// Reads a file written by [`checkpoint`]; `Ok(None)` if it does not exist.
pub fn read_checkpoint<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StateError> {
    let Some(bytes) = read_bounded(path, (HEADER_LEN + MAX_CHECKPOINT_SIZE) as u64)? else {
        return Ok(None);
    };
    parse_checkpoint(path, &bytes).map(Some)
}

/// Decodes the bytes of a checkpoint file; `path` only names it in errors.
pub fn parse_checkpoint<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, StateError> {
    let body = checked_body(path, bytes)?;
    decode(path, body)
}

fn checked_body<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a [u8], StateError> {
    let Some((header, body)) = bytes.split_at_checked(HEADER_LEN) else {
        return Err(corrupt(
            path,
            format!("{} bytes is too short for a header", bytes.len()),
        ));
    };
    if header[..4] != CHECKPOINT_MAGIC {
        return Err(corrupt(path, "not a checkpoint file (bad magic)"));
    }
    if header[4] != CHECKPOINT_VERSION {
        return Err(corrupt(path, format!("unsupported version {}", header[4])));
    }
    let declared = read_length(&header[5..]);
    if declared != body.len() {
        return Err(corrupt(
            path,
            format!(
                "header declares {declared} body bytes, file holds {}",
                body.len()
            ),
        ));
    }
    Ok(body)
}

/// Reads a whole file of at most `max` bytes; `Ok(None)` if it does not exist.
fn read_bounded(path: &Path, max: u64) -> Result<Option<Vec<u8>>, StateError> {
    let len = match fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("stat", path)(e)),
    };
    if len > max {
        return Err(corrupt(
            path,
            format!("{len} bytes exceed the {max} byte limit"),
        ));
    }
    fs::read(path).map(Some).map_err(io_error("read", path))
}

fn encode<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, StateError> {
    libproc::codec::encode("checkpoint", value).map_err(|e| StateError::Encode {
        path: path.to_owned(),
        reason: e.reason,
    })
}

fn decode<T: DeserializeOwned>(path: &Path, body: &[u8]) -> Result<T, StateError> {
    libproc::codec::decode("checkpoint", body).map_err(|e| corrupt(path, e.reason))
}

fn length_prefix(len: usize) -> [u8; 4] {
    u32::try_from(len)
        .expect("lengths are bounded by MAX_CHECKPOINT_SIZE or MAX_RECORD_SIZE")
        .to_le_bytes()
}

fn read_length(bytes: &[u8]) -> usize {
    let mut le = [0u8; 4];
    le.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(le) as usize
}

/// Writes a plain text checkpoint (a pid, the boot id) atomically.
pub fn write_text(path: &Path, text: &str) -> Result<(), StateError> {
    write_atomically(path, text.as_bytes())
}

/// Reads a plain text checkpoint, trimmed; `Ok(None)` if it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>, StateError> {
    let Some(bytes) = read_bounded(path, MAX_TEXT_SIZE)? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|_| corrupt(path, "text is not UTF-8"))?;
    Ok(Some(text.trim().to_owned()))
}

/// One entry of a `task.updates` file (Mesos `StatusUpdateRecord`).
// Records are built and read one at a time, so boxing the update would only
// add an allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StatusUpdateRecord {
    /// An update the agent accepted for the task.
    Update(StatusUpdate),
    /// The acknowledgement of the update with this uuid.
    Ack(Vec<u8>),
}

/// Appends `record` to the records file at `path` and fsyncs it, creating the
/// file and its directories if needed.
pub fn append_record(path: &Path, record: &StatusUpdateRecord) -> Result<(), StateError> {
    let body = encode(path, record)?;
    if body.len() > MAX_RECORD_SIZE {
        return Err(StateError::Encode {
            path: path.to_owned(),
            reason: format!(
                "record of {} bytes exceeds the {MAX_RECORD_SIZE} byte limit",
                body.len()
            ),
        });
    }
    let mut bytes = Vec::with_capacity(4 + body.len());
    bytes.extend_from_slice(&length_prefix(body.len()));
    bytes.extend_from_slice(&body);
    let dir = parent_dir(path)?;
    fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_error("open", path))?;
    // One `write_all` of prefix and body together keeps a torn append at the end.
    file.write_all(&bytes)
        .map_err(io_error("append to", path))?;
    file.sync_all().map_err(io_error("fsync", path))
}

/// What [`read_records`] found in a records file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    /// The complete records, in append order.
    pub records: Vec<StatusUpdateRecord>,
    /// Where a torn last record starts, if the agent crashed mid-append;
    /// everything from this offset on is to be cut off.
    pub torn_at: Option<u64>,
}

/// Reads every record of a records file; a missing file holds none.
///
/// A last record cut short (a crash mid-append) is reported in
/// [`Records::torn_at`], not an error. A record that is complete but does not
/// decode, or a length beyond [`MAX_RECORD_SIZE`], is an error, because then
/// the file is damaged rather than torn.
pub fn read_records(path: &Path) -> Result<Records, StateError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Records::default()),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    parse_records(path, &bytes)
}

/// Decodes the bytes of a records file, as [`read_records`] describes; `path` only
/// names it in errors.
pub fn parse_records(path: &Path, bytes: &[u8]) -> Result<Records, StateError> {
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let Some(len) = rest.get(..4).map(read_length) else {
            return Ok(torn(path, records, offset));
        };
        if len > MAX_RECORD_SIZE {
            return Err(corrupt(
                path,
                format!("record at offset {offset} declares {len} bytes"),
            ));
        }
        let Some(body) = rest.get(4..4 + len) else {
            return Ok(torn(path, records, offset));
        };
        let record = decode(path, body)
            .map_err(|e| corrupt(path, format!("record at offset {offset}: {e}")))?;
        records.push(record);
        offset += 4 + len;
    }
    Ok(Records {
        records,
        torn_at: None,
    })
}

fn torn(path: &Path, records: Vec<StatusUpdateRecord>, offset: usize) -> Records {
    warn!(path = %path.display(), offset, "Status update records file ends in a torn record");
    Records {
        records,
        torn_at: Some(offset as u64),
    }
}

/// Cuts a records file back to `len` bytes, dropping a torn last record so that
/// later appends follow the last complete one (as Mesos's recovery does).
pub fn truncate_records(path: &Path, len: u64) -> Result<(), StateError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_error("open", path))?;
    file.set_len(len).map_err(io_error("truncate", path))?;
    file.sync_all().map_err(io_error("fsync", path))
}

/// Points `meta/slaves/latest` at `agent_id`'s checkpoints, replacing any
/// earlier link atomically (symlink beside it, then rename).
pub fn mark_latest_agent(work_dir: &Path, agent_id: &AgentId) -> Result<(), StateError> {
    let link = paths::latest_agent(work_dir);
    let target = paths::agent_meta_dir(work_dir, agent_id)?;
    let dir = parent_dir(&link)?;
    fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
    let temp = temp_path(&link);
    std::os::unix::fs::symlink(&target, &temp).map_err(io_error("symlink", &temp))?;
    if let Err(e) = fs::rename(&temp, &link) {
        let _ = fs::remove_file(&temp);
        return Err(io_error("rename", &temp)(e));
    }
    sync_dir(dir)
}

mod recovery;

pub use recovery::{
    recover_agent, AgentState, ExecutorState, FrameworkState, RunState, TaskRecoveryState,
};

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests;

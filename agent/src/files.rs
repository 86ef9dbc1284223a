//! The `files` process (Mesos's `FilesProcess`, `src/files/files.cpp`): lets operators
//! and the web UI browse, read and download what the agent *attaches* — executor
//! sandboxes and log files — and nothing else.
//!
//! The agent attaches a real path under one or more virtual paths (a sandbox at its
//! real path and at `.../runs/latest`) and detaches it when the sandbox goes. Routes,
//! served at `/files/...`:
//!
//! - `browse?path=P`: the entries of a directory as `ls -l` would describe them, sorted
//!   by path (a file gives a listing of itself);
//! - `read?path=P&offset=O&length=L`: `{"data", "offset"}`, at most `MAX_READ_LENGTH`
//!   bytes; no offset (or `-1`) answers the size, for clients tailing a log;
//! - `download?path=P`: the bytes, streamed in chunks as the client takes them;
//! - `debug`: the attached map.
//!
//! The JSON answers take `jsonp=callback`, as Mesos's do (restricted to identifier
//! characters, so it cannot inject script). Paths resolve through
//! [`resolve`]: a path outside the attachments, through `..` or a symlink, answers
//! `404` exactly as a missing file does. File system work runs on blocking threads,
//! never in the process.
//!
//! `read` and binary data: Mesos puts the raw bytes in a JSON string, which is not
//! valid JSON when they are not UTF-8. Here `data` is the bytes as text when they are
//! UTF-8 (a character cut by the end of the window is left for the next read); when
//! they are not, every byte becomes the character of the same number (Latin-1) and
//! the object says `"encoding": "latin1"`, so clients can recover the exact bytes.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use http::header::{HeaderValue, CONTENT_DISPOSITION};
use http::StatusCode;
use libproc::http::{HttpError, Reply, Request, Response, ResponseBody};
use libproc::{Addr, Context, Pid, Process, SpawnError};
use serde::Serialize;
use tokio::io::AsyncReadExt;

pub mod listing;
pub mod resolve;

use listing::{content_type, FileInfo, Names};
use resolve::{
    fd_path, is_within, locate, normalize, open_confined, Located, OpenError, Opened, Refused,
};

/// The process id, as in Mesos: its routes are `/files/...`.
pub const FILES_ID: &str = "files";
/// The most bytes one `read` returns: 16 pages of 4 KiB, as Mesos.
pub const MAX_READ_LENGTH: u64 = 16 * 4096;
/// The most entries one `browse` lists, so a hostile directory cannot exhaust memory.
pub const MAX_BROWSE_ENTRIES: usize = 100_000;
/// The size of each chunk of a download.
const DOWNLOAD_CHUNK: usize = 64 * 1024;
/// How many chunks of a download may wait for a slow client.
const DOWNLOAD_BACKLOG: usize = 4;
/// The longest `jsonp` callback name accepted.
const MAX_JSONP_LEN: usize = 128;

/// Why attaching failed.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// The real path cannot be resolved or read.
    #[error("cannot attach '{path}': {source}")]
    Attach {
        /// The real path given.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The virtual path cannot name an attachment.
    #[error("cannot attach at '{virtual_path}': {reason}")]
    VirtualPath {
        /// The virtual path given.
        virtual_path: String,
        /// What is wrong with it.
        reason: Refused,
    },
    /// The `files` process terminated.
    #[error("the files process is gone")]
    Gone,
}

/// The `files` process: the map from virtual paths to real ones, and the routes.
#[derive(Debug, Default)]
pub struct FilesProcess {
    /// Normalized virtual path → canonical real path.
    attached: BTreeMap<String, PathBuf>,
}

impl FilesProcess {
    /// Attaches `real` (a directory or a file, canonicalized now) at `virtual_path`,
    /// replacing what was attached there.
    pub fn attach(&mut self, real: &Path, virtual_path: &str) -> Result<(), FilesError> {
        let key = normalize(virtual_path).map_err(|reason| FilesError::VirtualPath {
            virtual_path: virtual_path.to_owned(),
            reason,
        })?;
        let attach_error = |source| FilesError::Attach {
            path: real.to_owned(),
            source,
        };
        let canonical = std::fs::canonicalize(real).map_err(attach_error)?;
        nix::unistd::access(&canonical, nix::unistd::AccessFlags::R_OK)
            .map_err(|errno| attach_error(errno.into()))?;
        tracing::debug!(virtual_path = key, real = %canonical.display(), "Attached");
        self.attached.insert(key, canonical);
        Ok(())
    }

    /// Detaches `virtual_path`; false when nothing was attached there.
    pub fn detach(&mut self, virtual_path: &str) -> bool {
        let detached = normalize(virtual_path)
            .ok()
            .and_then(|key| self.attached.remove(&key))
            .is_some();
        tracing::debug!(virtual_path, detached, "Detached");
        detached
    }

    /// The parameters every file route shares: the path, located, and `jsonp`.
    fn target(&self, request: &Request) -> Result<Target, HttpError> {
        let jsonp = jsonp(request)?;
        let requested = match request.query.get("path") {
            Some(path) if !path.is_empty() => path.clone(),
            _ => return Err(bad_request("Expecting 'path=value' in query")),
        };
        self.locate(requested, jsonp)
    }

    fn locate(&self, requested: String, jsonp: Option<String>) -> Result<Target, HttpError> {
        let located =
            locate(&self.attached, &requested).map_err(|reason| refused(&requested, &reason))?;
        Ok(Target {
            requested,
            located,
            jsonp,
        })
    }

    /// What `path` lists (a directory's entries, or the file itself), with the same
    /// confinement as `/files/browse`; for the v1 operator call LIST_FILES.
    pub fn list_files(
        &self,
        path: String,
    ) -> impl Future<Output = Result<Vec<FileInfo>, HttpError>> + Send + 'static {
        let target = self.locate(path, None);
        async move { blocking(move || list(&target?)).await }
    }

    /// Up to `length` bytes of `path` from `offset`, and the file's size, with the
    /// same confinement as `/files/read`; for the v1 operator call READ_FILE.
    pub fn read_file(
        &self,
        path: String,
        offset: u64,
        length: Option<u64>,
    ) -> impl Future<Output = Result<(Vec<u8>, u64), HttpError>> + Send + 'static {
        let target = self.locate(path, None);
        async move {
            blocking(move || {
                let (bytes, _, size) = read_bytes(&target?, Some(offset), length)?;
                Ok((bytes, size))
            })
            .await
        }
    }

    /// `/files/browse`.
    fn browse(&mut self, request: Request, _ctx: &mut Context<Self>) -> Reply {
        let target = match self.target(&request) {
            Ok(target) => target,
            Err(error) => return error.into(),
        };
        Reply::deferred(async move {
            let jsonp = target.jsonp.clone();
            blocking(move || list(&target))
                .await
                .map(|listing| json_response(&listing, jsonp.as_deref()))
                .unwrap_or_else(Response::from)
        })
    }

    /// `/files/read`.
    fn read(&mut self, request: Request, _ctx: &mut Context<Self>) -> Reply {
        let parsed = self.target(&request).and_then(|target| {
            let offset = number(&request, "offset")?;
            let length = number(&request, "length")?;
            Ok((target, offset, length))
        });
        let (target, offset, length) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => return error.into(),
        };
        Reply::deferred(async move {
            let jsonp = target.jsonp.clone();
            blocking(move || read_chunk(&target, offset, length))
                .await
                .map(|chunk| json_response(&chunk, jsonp.as_deref()))
                .unwrap_or_else(Response::from)
        })
    }

    /// `/files/download`.
    fn download(&mut self, request: Request, _ctx: &mut Context<Self>) -> Reply {
        let target = match self.target(&request) {
            Ok(target) => target,
            Err(error) => return error.into(),
        };
        Reply::deferred(async move {
            blocking(move || open_file(&target, "download"))
                .await
                .map(stream_file)
                .unwrap_or_else(Response::from)
        })
    }

    /// `/files/debug`: the attached map, virtual path → real path.
    fn debug(&mut self, request: Request, _ctx: &mut Context<Self>) -> Reply {
        let map: BTreeMap<&str, String> = self
            .attached
            .iter()
            .map(|(key, real)| (key.as_str(), real.display().to_string()))
            .collect();
        jsonp(&request)
            .map(|jsonp| json_response(&map, jsonp.as_deref()))
            .into()
    }
}

impl Process for FilesProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // Operators and the web UI.
        ctx.route("/browse", FilesProcess::browse);
        ctx.route("/read", FilesProcess::read);
        ctx.route("/download", FilesProcess::download);
        ctx.route("/debug", FilesProcess::debug);
    }
}

/// The owner's handle to the `files` process; dropping it terminates the process.
#[derive(Debug)]
pub struct Files {
    addr: Addr<FilesProcess>,
}

impl Files {
    /// Spawns the process as `files` in the running runtime. There is one per runtime,
    /// as in Mesos: a second spawn fails with `SpawnError::DuplicateId`.
    pub fn spawn() -> Result<Self, SpawnError> {
        let addr = libproc::spawn(FilesProcess::default(), FILES_ID)?;
        Ok(Files { addr })
    }

    /// The process's pid.
    pub fn pid(&self) -> &Pid {
        self.addr.pid()
    }

    /// Attaches `real` at `virtual_path` (see `FilesProcess::attach`). The request is
    /// queued at once; the future tells how it went.
    pub fn attach(
        &self,
        real: impl Into<PathBuf>,
        virtual_path: impl Into<String>,
    ) -> impl Future<Output = Result<(), FilesError>> + Send + 'static {
        let (real, virtual_path) = (real.into(), virtual_path.into());
        let attached = libproc::dispatch(&self.addr, move |files, _| {
            files.attach(&real, &virtual_path)
        });
        async move { attached.await.unwrap_or(Err(FilesError::Gone)) }
    }

    /// Lists `path` (see [`FilesProcess::list_files`]).
    pub fn list(
        &self,
        path: String,
    ) -> impl Future<Output = Result<Vec<FileInfo>, HttpError>> + Send + 'static {
        let listed = libproc::dispatch(&self.addr, move |files, _| files.list_files(path));
        async move {
            match listed.await {
                Ok(listing) => listing.await,
                Err(_) => Err(gone()),
            }
        }
    }

    /// Reads `path` (see [`FilesProcess::read_file`]).
    pub fn read(
        &self,
        path: String,
        offset: u64,
        length: Option<u64>,
    ) -> impl Future<Output = Result<(Vec<u8>, u64), HttpError>> + Send + 'static {
        let read = libproc::dispatch(&self.addr, move |files, _| {
            files.read_file(path, offset, length)
        });
        async move {
            match read.await {
                Ok(bytes) => bytes.await,
                Err(_) => Err(gone()),
            }
        }
    }

    /// Detaches `virtual_path`. The request is queued at once; the future says whether
    /// anything was attached there, and may be dropped.
    pub fn detach(
        &self,
        virtual_path: impl Into<String>,
    ) -> impl Future<Output = bool> + Send + 'static {
        let virtual_path = virtual_path.into();
        let detached = libproc::dispatch(&self.addr, move |files, _| files.detach(&virtual_path));
        async move { detached.await.unwrap_or(false) }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        libproc::terminate(self.addr.pid());
    }
}

/// A request's path, located under an attachment, and its `jsonp` callback.
#[derive(Debug)]
struct Target {
    requested: String,
    located: Located,
    jsonp: Option<String>,
}

/// What `read` answers.
#[derive(Debug, Serialize)]
struct Chunk {
    data: String,
    offset: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
}

fn gone() -> HttpError {
    HttpError::new(StatusCode::SERVICE_UNAVAILABLE, "The files process is gone")
}

fn bad_request(message: &str) -> HttpError {
    HttpError::new(StatusCode::BAD_REQUEST, format!("{message}.\n"))
}

/// A refused path: logged, and answered exactly as a missing file.
fn refused(requested: &str, reason: &Refused) -> HttpError {
    tracing::debug!(path = requested.escape_debug().to_string(), %reason, "Refused a files request");
    HttpError::new(StatusCode::NOT_FOUND, "")
}

/// `jsonp=callback`, when given: only a JavaScript name, so the answer cannot carry
/// script of the client's making.
fn jsonp(request: &Request) -> Result<Option<String>, HttpError> {
    let Some(callback) = request.query.get("jsonp") else {
        return Ok(None);
    };
    let valid = !callback.is_empty()
        && callback.len() <= MAX_JSONP_LEN
        && callback
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'));
    if valid {
        Ok(Some(callback.clone()))
    } else {
        Err(bad_request("Invalid 'jsonp' callback name"))
    }
}

/// An optional integer parameter: `-1` means "not given", as in Mesos; other negative
/// values are refused.
fn number(request: &Request, name: &str) -> Result<Option<u64>, HttpError> {
    let Some(text) = request.query.get(name) else {
        return Ok(None);
    };
    match text.parse::<i64>() {
        Ok(-1) => Ok(None),
        Ok(value) => u64::try_from(value)
            .map(Some)
            .map_err(|_| bad_request(&format!("Negative {name} provided"))),
        Err(error) => Err(bad_request(&format!("Failed to parse {name}: {error}"))),
    }
}

fn json_response<T: Serialize + ?Sized>(value: &T, jsonp: Option<&str>) -> Response {
    match (jsonp, serde_json::to_string(value)) {
        (None, _) => Response::json(value),
        (Some(callback), Ok(body)) => Response::new(
            StatusCode::OK,
            "text/javascript",
            format!("{callback}({body});"),
        ),
        (Some(_), Err(error)) => HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not encode the response: {error}"),
        )
        .into(),
    }
}

/// Runs file system work on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HttpError> + Send + 'static,
) -> Result<T, HttpError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| {
            Err(HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the file system task failed: {error}"),
            ))
        })
}

fn open(target: &Target) -> Result<Opened, HttpError> {
    open_confined(&target.located).map_err(|error| match error {
        OpenError::Refused(reason) => refused(&target.requested, &reason),
        OpenError::Io { path, source } => {
            tracing::warn!(path = %path.display(), error = %source, "Cannot open a file to serve");
            HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Failed to open file at '{}': {source}.\n", path.display()),
            )
        }
    })
}

/// Opens a regular file for `read` or `download`: directories and special files are
/// bad requests.
fn open_file(target: &Target, verb: &str) -> Result<Opened, HttpError> {
    let opened = open(target)?;
    if opened.metadata.is_dir() {
        return Err(bad_request(&format!("Cannot {verb} a directory")));
    }
    if !opened.metadata.is_file() {
        return Err(bad_request(&format!("Cannot {verb} a special file")));
    }
    Ok(opened)
}

fn server_error(what: &str, path: &Path, error: std::io::Error) -> HttpError {
    tracing::warn!(path = %path.display(), %error, "Cannot {what}");
    HttpError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("Failed to {what} '{}': {error}.\n", path.display()),
    )
}

/// The listing of a directory (or of a file by itself), sorted by path.
fn list(target: &Target) -> Result<Vec<FileInfo>, HttpError> {
    let opened = open(target)?;
    let mut names = Names::default();
    let base = target.requested.trim_end_matches('/');
    if !opened.metadata.is_dir() {
        return Ok(vec![names.info(base.to_owned(), &opened.metadata)]);
    }
    let entries = std::fs::read_dir(fd_path(&opened.file))
        .map_err(|error| server_error("list", &opened.path, error))?;
    let mut listing = Vec::new();
    for entry in entries.take(MAX_BROWSE_ENTRIES) {
        let Ok(entry) = entry else { continue };
        if let Some(metadata) = entry_metadata(&target.located.root, &entry.path()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            listing.push(names.info(format!("{base}/{name}"), &metadata));
        }
    }
    listing.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(listing)
}

/// An entry's metadata: a symlink is described by its target when that stays inside
/// the root (so a linked directory lists as one), by itself otherwise, so nothing is
/// learned about files outside.
fn entry_metadata(root: &Path, path: &Path) -> Option<std::fs::Metadata> {
    let own = std::fs::symlink_metadata(path).ok()?;
    if !own.file_type().is_symlink() {
        return Some(own);
    }
    match std::fs::canonicalize(path) {
        Ok(target) if is_within(root, &target) => std::fs::metadata(&target).ok().or(Some(own)),
        _ => Some(own),
    }
}

/// `read`: at most `MAX_READ_LENGTH` bytes from `offset` (the size when not given).
fn read_chunk(
    target: &Target,
    offset: Option<u64>,
    length: Option<u64>,
) -> Result<Chunk, HttpError> {
    let (bytes, offset, size) = read_bytes(target, offset, length)?;
    let at_end = offset + bytes.len() as u64 >= size;
    let (data, encoding) = if bytes.is_empty() {
        (String::new(), None)
    } else {
        encode(bytes, at_end)
    };
    Ok(Chunk {
        data,
        offset,
        encoding,
    })
}

/// Up to `length` (capped at `MAX_READ_LENGTH`) bytes from `offset` (the end when
/// absent), the offset read from, and the file's size.
fn read_bytes(
    target: &Target,
    offset: Option<u64>,
    length: Option<u64>,
) -> Result<(Vec<u8>, u64, u64), HttpError> {
    let mut opened = open_file(target, "read")?;
    let size = opened.metadata.len();
    let offset = offset.unwrap_or(size);
    if offset >= size {
        return Ok((Vec::new(), size, size));
    }
    let length = length.unwrap_or(size - offset).min(MAX_READ_LENGTH);
    let mut bytes = Vec::with_capacity(length as usize);
    opened
        .file
        .seek(SeekFrom::Start(offset))
        .and_then(|_| (&opened.file).take(length).read_to_end(&mut bytes))
        .map_err(|error| server_error("read", &opened.path, error))?;
    Ok((bytes, offset, size))
}

/// The bytes as a JSON-safe string: UTF-8 text as it is (without a character cut by
/// the window's end, unless that is all there is or the file ends there), anything
/// else one character per byte, said to be `latin1`.
fn encode(mut bytes: Vec<u8>, at_end: bool) -> (String, Option<&'static str>) {
    match std::str::from_utf8(&bytes) {
        Ok(_) => {}
        Err(error) if error.error_len().is_none() && error.valid_up_to() > 0 && !at_end => {
            bytes.truncate(error.valid_up_to());
        }
        Err(_) => {
            return (
                bytes.iter().map(|&b| char::from(b)).collect(),
                Some("latin1"),
            )
        }
    }
    let text = String::from_utf8(bytes).expect("checked to be UTF-8 up to here");
    (text, None)
}

/// `download`: the file's bytes, streamed in chunks; the reader waits while the
/// client is slow, and stops when it is gone.
fn stream_file(opened: Opened) -> Response {
    let name = opened
        .path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let disposition = HeaderValue::from_str(&format!("attachment; filename={name}"))
        .unwrap_or_else(|_| {
            let safe: String = name
                .chars()
                .map(|c| if c.is_ascii_graphic() { c } else { '_' })
                .collect();
            HeaderValue::from_str(&format!("attachment; filename={safe}"))
                .expect("visible ASCII is a valid header value")
        });
    let (chunks, body) = tokio::sync::mpsc::channel(DOWNLOAD_BACKLOG);
    let path = opened.path.clone();
    let mut file = tokio::fs::File::from_std(opened.file);
    tokio::spawn(async move {
        loop {
            let mut chunk = vec![0; DOWNLOAD_CHUNK];
            match file.read(&mut chunk).await {
                Ok(0) => break,
                Ok(read) => {
                    chunk.truncate(read);
                    if chunks.send(chunk.into()).await.is_err() {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "Download ended early");
                    break;
                }
            }
        }
    });
    let mut response = Response::new(StatusCode::OK, content_type(&name), "");
    response.body = ResponseBody::Stream(body);
    response.headers.insert(CONTENT_DISPOSITION, disposition);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_stays_text_and_other_bytes_become_latin1() {
        assert_eq!(encode(b"hello".to_vec(), false), ("hello".to_owned(), None));
        let (data, encoding) = encode(vec![0, 0xff, b'a'], true);
        assert_eq!(encoding, Some("latin1"));
        assert_eq!(
            data.chars().map(|c| c as u32).collect::<Vec<_>>(),
            [0, 0xff, 97]
        );
        let cut = "aé".as_bytes()[..2].to_vec();
        assert_eq!(encode(cut.clone(), false), ("a".to_owned(), None));
        assert_eq!(encode(cut, true).1, Some("latin1"));
        assert_eq!(encode(vec![0xc3], false).1, Some("latin1"));
    }

    proptest::proptest! {
        #[test]
        fn latin1_round_trips_any_bytes(bytes in proptest::collection::vec(0u8.., 0..64), at_end: bool) {
            let (data, encoding) = encode(bytes.clone(), at_end);
            match encoding {
                Some(_) => {
                    let back: Vec<u8> = data.chars().map(|c| c as u8).collect();
                    proptest::prop_assert_eq!(back, bytes);
                }
                None => proptest::prop_assert!(bytes.starts_with(data.as_bytes())),
            }
        }
    }
}

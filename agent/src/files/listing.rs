//! What `/files/browse` says about a file (Mesos's `jsonFileInfo`, as `ls -l` would),
//! and the content type `/files/download` gives it.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use nix::unistd::{Gid, Group, Uid, User};
use serde::Serialize;

/// One entry of a listing: `{path, nlink, size, mtime, mode, uid, gid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// The path as the client would request it.
    pub path: String,
    /// The number of hard links.
    pub nlink: u64,
    /// The size in bytes.
    pub size: u64,
    /// The last modification, in seconds since the Unix epoch.
    pub mtime: i64,
    /// The type and permissions as `ls` prints them: `drwxr-xr-x`.
    pub mode: String,
    /// The owner's name, or the numeric id when it has none.
    pub uid: String,
    /// The group's name, or the numeric id when it has none.
    pub gid: String,
}

/// Resolves user and group ids to names, remembering them for one listing.
#[derive(Debug, Default)]
pub struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Names {
    fn user(&mut self, uid: u32) -> String {
        self.users
            .entry(uid)
            .or_insert_with(|| match User::from_uid(Uid::from_raw(uid)) {
                Ok(Some(user)) => user.name,
                _ => uid.to_string(),
            })
            .clone()
    }

    fn group(&mut self, gid: u32) -> String {
        self.groups
            .entry(gid)
            .or_insert_with(|| match Group::from_gid(Gid::from_raw(gid)) {
                Ok(Some(group)) => group.name,
                _ => gid.to_string(),
            })
            .clone()
    }

    /// The listing entry of a file whose client-side path is `path`.
    pub fn info(&mut self, path: String, metadata: &Metadata) -> FileInfo {
        FileInfo {
            path,
            nlink: metadata.nlink(),
            size: metadata.size(),
            mtime: metadata.mtime(),
            mode: mode_string(metadata),
            uid: self.user(metadata.uid()),
            gid: self.group(metadata.gid()),
        }
    }
}

/// `ls`'s ten-character mode: the file type, then read, write and execute for the
/// owner, the group and others.
pub fn mode_string(metadata: &Metadata) -> String {
    let kind = metadata.file_type();
    let first = if kind.is_dir() {
        'd'
    } else if kind.is_symlink() {
        'l'
    } else if kind.is_char_device() {
        'c'
    } else if kind.is_block_device() {
        'b'
    } else if kind.is_fifo() {
        'p'
    } else if kind.is_socket() {
        's'
    } else {
        '-'
    };
    permissions(first, metadata.mode())
}

fn permissions(first: char, mode: u32) -> String {
    let mut text = String::with_capacity(10);
    text.push(first);
    for shift in [6, 3, 0] {
        let bits = mode >> shift;
        text.push(if bits & 0o4 != 0 { 'r' } else { '-' });
        text.push(if bits & 0o2 != 0 { 'w' } else { '-' });
        text.push(if bits & 0o1 != 0 { 'x' } else { '-' });
    }
    text
}

/// The content type of a download, from the file name's extension, as Mesos's
/// `mime::types`; `application/octet-stream` for anything else.
pub fn content_type(file_name: &str) -> &'static str {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase());
    match extension.as_deref() {
        Some("txt") => "text/plain",
        Some("html" | "htm") => "text/html",
        Some("css") => "text/css",
        Some("csv") => "text/csv",
        Some("js") => "application/javascript",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("pdf") => "application/pdf",
        Some("gz" | "tgz") => "application/x-gzip",
        Some("bz2") => "application/x-bzip2",
        Some("xz") => "application/x-xz",
        Some("tar") => "application/x-tar",
        Some("zip") => "application/zip",
        Some("jar") => "application/java-archive",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_ls_prints_them() {
        assert_eq!(permissions('-', 0o644), "-rw-r--r--");
        assert_eq!(permissions('d', 0o755), "drwxr-xr-x");
        assert_eq!(permissions('-', 0o4777), "-rwxrwxrwx");
        assert_eq!(permissions('p', 0), "p---------");
        let dir = std::fs::metadata("/").unwrap();
        assert!(mode_string(&dir).starts_with('d'));
    }

    #[test]
    fn names_fall_back_to_numbers() {
        let mut names = Names::default();
        assert_eq!(names.user(0), "root");
        assert_eq!(names.user(4_000_000_000), "4000000000");
        assert_eq!(names.group(4_000_000_000), "4000000000");
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("stdout"), "application/octet-stream");
        assert_eq!(content_type("a.TXT"), "text/plain");
        assert_eq!(content_type("x.tar.gz"), "application/x-gzip");
        assert_eq!(content_type("page.html"), "text/html");
    }
}

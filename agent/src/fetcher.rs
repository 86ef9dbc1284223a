//! The fetcher (Mesos's `mesos-fetcher`), for what needs no network: each URI of an
//! executor's command (a command task's own URIs included) is a plain absolute local
//! path or a `file://` URI, copied into the sandbox before the executor starts, made
//! executable when asked, and unpacked with `tar` when it is a tar archive and
//! `extract` is not turned off. Any other scheme (`http://`, `hdfs://`...) fails the
//! launch with a clear message rather than being skipped. There is no cache: `cache`
//! is accepted and ignored.

use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use mesos_proto::mesos::CommandUri;

/// Why a URI could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URI is not a local path or `file://` URI.
    #[error("cannot fetch '{uri}': unsupported scheme '{scheme}' (this agent fetches only local paths and file:// URIs)")]
    Scheme {
        /// The URI.
        uri: String,
        /// Its scheme.
        scheme: String,
    },
    /// The path is relative, empty, or names no file.
    #[error("cannot fetch '{uri}': {reason}")]
    Invalid {
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The copy, chmod or extraction failed.
    #[error("cannot fetch '{uri}': failed to {action}: {reason}")]
    Io {
        /// The URI.
        uri: String,
        /// What was being done.
        action: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// Fetches every URI into `sandbox`, in order; the first failure stops.
pub fn fetch(uris: &[CommandUri], sandbox: &Path) -> Result<(), FetchError> {
    for uri in uris {
        fetch_one(uri, sandbox)?;
        tracing::info!(uri = %uri.value, sandbox = %sandbox.display(), "Fetched");
    }
    Ok(())
}

fn fetch_one(uri: &CommandUri, sandbox: &Path) -> Result<(), FetchError> {
    let source = local_path(&uri.value)?;
    let name = destination_name(uri, &source)?;
    let destination = sandbox.join(name);
    let io = |action: &'static str| {
        move |error: std::io::Error| FetchError::Io {
            uri: uri.value.clone(),
            action,
            reason: error.to_string(),
        }
    };
    if !source.is_file() {
        return Err(FetchError::Invalid {
            uri: uri.value.clone(),
            reason: "not a regular file",
        });
    }
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent).map_err(io("create the destination directory"))?;
    }
    std::fs::copy(&source, &destination).map_err(io("copy into the sandbox"))?;
    if uri.executable.unwrap_or(false) {
        std::fs::set_permissions(&destination, std::fs::Permissions::from_mode(0o755))
            .map_err(io("make it executable"))?;
    } else if uri.extract.unwrap_or(true) && is_tar_archive(&destination) {
        extract(&destination, sandbox).map_err(|reason| FetchError::Io {
            uri: uri.value.clone(),
            action: "extract it",
            reason,
        })?;
    }
    Ok(())
}

/// The local path a URI names: an absolute path, or `file://` followed by one.
fn local_path(text: &str) -> Result<PathBuf, FetchError> {
    let invalid = |reason| FetchError::Invalid {
        uri: text.to_owned(),
        reason,
    };
    let path = match text.split_once("://") {
        Some(("file", rest)) => rest,
        Some((scheme, _)) => {
            return Err(FetchError::Scheme {
                uri: text.to_owned(),
                scheme: scheme.to_owned(),
            })
        }
        None => text,
    };
    if path.contains('\0') {
        return Err(invalid("the path holds a NUL byte"));
    }
    let path = Path::new(path);
    if !path.is_absolute() {
        return Err(invalid("the path must be absolute"));
    }
    Ok(path.to_owned())
}

/// The file's name in the sandbox: `output_file` (relative, never leaving the
/// sandbox) or the source's own name.
fn destination_name(uri: &CommandUri, source: &Path) -> Result<PathBuf, FetchError> {
    let invalid = |reason| FetchError::Invalid {
        uri: uri.value.clone(),
        reason,
    };
    match uri.output_file.as_deref().filter(|name| !name.is_empty()) {
        Some(name) => {
            let path = Path::new(name);
            let inside = path
                .components()
                .all(|component| matches!(component, Component::Normal(_)));
            if !inside || name.contains('\0') {
                return Err(invalid(
                    "output_file must be a relative path inside the sandbox",
                ));
            }
            Ok(path.to_owned())
        }
        None => source
            .file_name()
            .map(PathBuf::from)
            .ok_or_else(|| invalid("the path names no file")),
    }
}

fn is_tar_archive(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
}

/// Unpacks a tar archive into `sandbox` with the system's `tar`, as Mesos does.
fn extract(archive: &Path, sandbox: &Path) -> Result<(), String> {
    let output = Command::new("tar")
        .arg("-C")
        .arg(sandbox)
        .arg("-xf")
        .arg(archive)
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(value: &str) -> CommandUri {
        CommandUri {
            value: value.to_owned(),
            ..CommandUri::default()
        }
    }

    fn dirs(test: &str) -> (PathBuf, PathBuf) {
        let base = std::env::temp_dir().join(format!(
            "fetcher-{test}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let (source, sandbox) = (base.join("source"), base.join("sandbox"));
        std::fs::create_dir_all(&source).unwrap();
        std::fs::create_dir_all(&sandbox).unwrap();
        (source, sandbox)
    }

    #[test]
    fn local_paths_and_file_uris_are_copied_and_made_executable() {
        let (source, sandbox) = dirs("copy");
        std::fs::write(source.join("run.sh"), "echo hi").unwrap();
        std::fs::write(source.join("data.txt"), "data").unwrap();
        let mut executable = uri(&format!("file://{}", source.join("run.sh").display()));
        executable.executable = Some(true);
        let mut renamed = uri(&source.join("data.txt").display().to_string());
        renamed.output_file = Some("sub/renamed.txt".into());
        fetch(&[executable, renamed], &sandbox).unwrap();
        let mode = std::fs::metadata(sandbox.join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_to_string(sandbox.join("sub/renamed.txt")).unwrap(),
            "data"
        );
        let _ = std::fs::remove_dir_all(source.parent().unwrap());
    }

    #[test]
    fn tar_archives_are_extracted_unless_asked_not_to() {
        let (source, sandbox) = dirs("tar");
        std::fs::write(source.join("inside.txt"), "packed").unwrap();
        let archive = source.join("bundle.tar.gz");
        let packed = Command::new("tar")
            .arg("-C")
            .arg(&source)
            .arg("-czf")
            .arg(&archive)
            .arg("inside.txt")
            .status()
            .unwrap();
        assert!(packed.success());
        fetch(&[uri(&archive.display().to_string())], &sandbox).unwrap();
        assert_eq!(
            std::fs::read_to_string(sandbox.join("inside.txt")).unwrap(),
            "packed"
        );
        let _ = std::fs::remove_dir_all(source.parent().unwrap());
    }

    #[test]
    fn other_schemes_relative_paths_and_escapes_are_refused() {
        let (source, sandbox) = dirs("refused");
        std::fs::write(source.join("f"), "x").unwrap();
        let error = fetch(&[uri("http://example.com/f")], &sandbox).unwrap_err();
        assert!(
            error.to_string().contains("unsupported scheme 'http'"),
            "{error}"
        );
        assert!(matches!(
            fetch(&[uri("relative/f")], &sandbox),
            Err(FetchError::Invalid { .. })
        ));
        assert!(matches!(
            fetch(&[uri(&source.display().to_string())], &sandbox),
            Err(FetchError::Invalid { .. })
        ));
        let mut escape = uri(&source.join("f").display().to_string());
        escape.output_file = Some("../outside".into());
        assert!(matches!(
            fetch(&[escape], &sandbox),
            Err(FetchError::Invalid { .. })
        ));
        assert!(!sandbox.parent().unwrap().join("outside").exists());
        let missing = fetch(&[uri("/no/such/file")], &sandbox).unwrap_err();
        assert!(matches!(missing, FetchError::Invalid { .. }), "{missing}");
        let _ = std::fs::remove_dir_all(source.parent().unwrap());
    }
}

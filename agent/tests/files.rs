//! The sandbox services: the `files` process over real HTTP (browse, read, download,
//! and the paths it must refuse), and the garbage collector on a paused clock.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use libproc::{Config, Runtime, StartError};
use mesos_agent::files::{Files, MAX_READ_LENGTH};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn start_runtime() {
    match Runtime::start(Config::default()) {
        Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
        Err(e) => panic!("the runtime did not start: {e}"),
    }
}

/// The one `files` process of this test binary's runtime.
fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        start_runtime();
        Files::spawn().expect("the files process spawns")
    })
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A response as the client saw it.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Percent-encodes a query value completely but for unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Undoes chunked transfer encoding.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// `GET /files/<route>?<query>` over a fresh HTTP/1.1 connection, read to its close.
async fn get(route: &str, query: &str) -> Reply {
    let address = files().pid().addr;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request =
        format!("GET /files/{route}?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    within("the response", stream.read_to_end(&mut response))
        .await
        .unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let raw = &response[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    Reply {
        status,
        headers,
        body,
    }
}

async fn get_path(route: &str, path: &str, rest: &str) -> Reply {
    get(route, &format!("path={}{rest}", encode(path))).await
}

/// A sandbox: `stdout` (text), `binary`, `big` (several MB), `sub/nested`, a link
/// to `/etc` and one to `stdout`, attached at its real path and at a virtual one.
struct Sandbox {
    dir: PathBuf,
    virtual_path: String,
}

impl Sandbox {
    async fn attach(name: &str) -> Sandbox {
        let dir = std::env::temp_dir()
            .join(format!("mesos-files-test-{name}-{}", std::process::id()))
            .join("sandbox");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("stdout"), "hello, sandbox\n").unwrap();
        std::fs::write(dir.join("binary"), [0u8, 159, 146, 150, 255, b'a']).unwrap();
        std::fs::write(dir.join("big"), big_content()).unwrap();
        std::fs::write(dir.join("sub/nested.txt"), "nested").unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("link-to-etc")).unwrap();
        std::os::unix::fs::symlink("stdout", dir.join("link-to-stdout")).unwrap();
        let dir = std::fs::canonicalize(dir).unwrap();
        let virtual_path = format!("/slaves/a/frameworks/{name}/executors/e/runs/latest");
        within("attach", files().attach(&dir, dir.display().to_string()))
            .await
            .expect("attaching at the real path");
        within("attach", files().attach(&dir, &virtual_path))
            .await
            .expect("attaching at the virtual path");
        Sandbox { dir, virtual_path }
    }

    fn path(&self, relative: &str) -> String {
        format!("{}/{relative}", self.dir.display())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.dir.parent().unwrap());
    }
}

fn big_content() -> Vec<u8> {
    (0..3_000_000u32).map(|i| (i % 251) as u8).collect()
}

fn paths(listing: &Value) -> Vec<&str> {
    listing
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["path"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn browse_lists_a_sandbox_sorted_as_ls_describes_it() {
    let sandbox = Sandbox::attach("browse").await;
    let reply = get_path("browse", &sandbox.dir.display().to_string(), "").await;
    assert_eq!(reply.status, 200);
    let listing = reply.json();
    let names = [
        "big",
        "binary",
        "link-to-etc",
        "link-to-stdout",
        "stdout",
        "sub",
    ];
    let expected: Vec<String> = names.iter().map(|n| sandbox.path(n)).collect();
    assert_eq!(paths(&listing), expected);
    let entry = |name: &str| {
        listing
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == sandbox.path(name))
            .unwrap()
            .clone()
    };
    assert_eq!(entry("stdout")["size"], 15);
    assert!(entry("stdout")["mode"].as_str().unwrap().starts_with("-rw"));
    assert!(entry("sub")["mode"].as_str().unwrap().starts_with('d'));
    assert!(entry("stdout")["mtime"].as_i64().unwrap() > 0);
    assert!(entry("stdout")["nlink"].as_u64().unwrap() >= 1);
    assert!(entry("stdout")["uid"].is_string() && entry("stdout")["gid"].is_string());
    // A link inside the sandbox is described by its target; one leading out by itself.
    assert_eq!(entry("link-to-stdout")["size"], 15);
    assert!(entry("link-to-etc")["mode"]
        .as_str()
        .unwrap()
        .starts_with('l'));
}

#[tokio::test]
async fn browse_through_the_virtual_path_and_of_a_subdirectory() {
    let sandbox = Sandbox::attach("virtual").await;
    let sub = format!("{}/sub/", sandbox.virtual_path);
    let listing = get_path("browse", &sub, "").await.json();
    assert_eq!(
        paths(&listing),
        [format!("{}/sub/nested.txt", sandbox.virtual_path)]
    );
    let file = format!("{}/stdout", sandbox.virtual_path);
    let listing = get_path("browse", &file, "").await.json();
    assert_eq!(paths(&listing), [file]);
}

#[tokio::test]
async fn read_returns_the_window_asked_for() {
    let sandbox = Sandbox::attach("read").await;
    let stdout = sandbox.path("stdout");
    let read = |rest: &'static str| {
        let stdout = stdout.clone();
        async move { get_path("read", &stdout, rest).await }
    };
    assert_eq!(
        read("&offset=0&length=5").await.json(),
        serde_json::json!({"data": "hello", "offset": 0})
    );
    assert_eq!(
        read("&offset=7").await.json(),
        serde_json::json!({"data": "sandbox\n", "offset": 7})
    );
    assert_eq!(
        read("").await.json(),
        serde_json::json!({"data": "", "offset": 15})
    );
    assert_eq!(
        read("&offset=-1").await.json(),
        serde_json::json!({"data": "", "offset": 15})
    );
    assert_eq!(
        read("&offset=100&length=5").await.json(),
        serde_json::json!({"data": "", "offset": 15})
    );
}

#[tokio::test]
async fn read_caps_the_length_and_keeps_binary_bytes() {
    let sandbox = Sandbox::attach("read-binary").await;
    let big = get_path("read", &sandbox.path("big"), "&offset=0&length=10000000").await;
    let data = big.json()["data"].as_str().unwrap().to_owned();
    assert_eq!(data.chars().count() as u64, MAX_READ_LENGTH);
    let binary = get_path("read", &sandbox.path("binary"), "&offset=0")
        .await
        .json();
    assert_eq!(binary["encoding"], "latin1");
    let bytes: Vec<u8> = binary["data"]
        .as_str()
        .unwrap()
        .chars()
        .map(|c| c as u8)
        .collect();
    assert_eq!(bytes, [0u8, 159, 146, 150, 255, b'a']);
}

#[tokio::test]
async fn read_refuses_bad_parameters_and_directories() {
    let sandbox = Sandbox::attach("read-bad").await;
    let stdout = sandbox.path("stdout");
    assert_eq!(get_path("read", &stdout, "&length=-5").await.status, 400);
    assert_eq!(get_path("read", &stdout, "&offset=abc").await.status, 400);
    assert_eq!(get_path("read", &stdout, "&offset=-2").await.status, 400);
    let directory = get_path("read", &sandbox.path("sub"), "&offset=0").await;
    assert_eq!(directory.status, 400);
    assert_eq!(
        String::from_utf8_lossy(&directory.body),
        "Cannot read a directory.\n"
    );
    assert_eq!(get("read", "offset=0").await.status, 400);
}

#[tokio::test]
async fn download_streams_the_bytes_as_an_attachment() {
    let sandbox = Sandbox::attach("download").await;
    let reply = get_path("download", &sandbox.path("big"), "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=big")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );
    assert!(reply.body == big_content(), "the downloaded bytes differ");
    let text = get_path("download", &sandbox.path("sub/nested.txt"), "").await;
    assert_eq!(text.header("content-type"), Some("text/plain"));
    assert_eq!(text.body, b"nested");
    let directory = get_path("download", &sandbox.path("sub"), "").await;
    assert_eq!(directory.status, 400);
}

#[tokio::test]
async fn a_parent_escape_is_refused() {
    let sandbox = Sandbox::attach("parent").await;
    let escape = sandbox.path("../..");
    assert_eq!(get_path("browse", &escape, "").await.status, 404);
    let around = sandbox.path("sub/../stdout");
    assert_eq!(get_path("read", &around, "&offset=0").await.status, 404);
    let passwd = sandbox.path("../../../../../../etc/passwd");
    assert_eq!(get_path("read", &passwd, "&offset=0").await.status, 404);
}

#[tokio::test]
async fn an_absolute_path_outside_the_attachments_is_refused() {
    let _sandbox = Sandbox::attach("absolute").await;
    assert_eq!(
        get_path("read", "/etc/passwd", "&offset=0").await.status,
        404
    );
    assert_eq!(get_path("browse", "/", "").await.status, 404);
}

#[tokio::test]
async fn a_symlink_leading_out_of_the_sandbox_is_refused() {
    let sandbox = Sandbox::attach("symlink").await;
    let passwd = sandbox.path("link-to-etc/passwd");
    assert_eq!(get_path("read", &passwd, "&offset=0").await.status, 404);
    assert_eq!(get_path("download", &passwd, "").await.status, 404);
    let etc = sandbox.path("link-to-etc");
    assert_eq!(get_path("browse", &etc, "").await.status, 404);
    let inside = sandbox.path("link-to-stdout");
    assert_eq!(get_path("read", &inside, "&offset=0").await.status, 200);
}

#[tokio::test]
async fn a_nul_byte_is_refused() {
    let sandbox = Sandbox::attach("nul").await;
    let query = format!("path={}%00/x&offset=0", encode(&sandbox.path("stdout")));
    assert_eq!(get("read", &query).await.status, 404);
    let query = format!("path={}&offset=0", encode(&sandbox.path("stdout")));
    assert_eq!(get("read", &query).await.status, 200);
}

#[tokio::test]
async fn debug_shows_the_attachments_and_detach_removes_them() {
    let sandbox = Sandbox::attach("debug").await;
    let attached = get("debug", "").await.json();
    assert_eq!(
        attached[&sandbox.virtual_path],
        sandbox.dir.display().to_string()
    );
    assert!(within("detach", files().detach(&sandbox.virtual_path)).await);
    assert!(!within("detach", files().detach(&sandbox.virtual_path)).await);
    let stdout = format!("{}/stdout", sandbox.virtual_path);
    assert_eq!(get_path("read", &stdout, "&offset=0").await.status, 404);
    assert!(get("debug", "")
        .await
        .json()
        .get(&sandbox.virtual_path)
        .is_none());
}

#[tokio::test]
async fn jsonp_wraps_the_answer_in_a_call() {
    let sandbox = Sandbox::attach("jsonp").await;
    let reply = get_path(
        "read",
        &sandbox.path("stdout"),
        "&offset=0&length=5&jsonp=show",
    )
    .await;
    assert_eq!(reply.header("content-type"), Some("text/javascript"));
    assert_eq!(reply.body, br#"show({"data":"hello","offset":0});"#);
    let hostile = get_path("read", &sandbox.path("stdout"), "&jsonp=alert(1)//").await;
    assert_eq!(hostile.status, 400);
}

#[tokio::test]
async fn attaching_a_missing_path_fails() {
    let missing = Path::new("/no/such/sandbox");
    assert!(within("attach", files().attach(missing, "/x"))
        .await
        .is_err());
}

/// The garbage collector on a paused clock: nothing waits in real time.
mod gc {
    use super::*;
    use libproc::Clock;
    use mesos_agent::gc::{DiskWatch, GarbageCollector, GcError};

    const DELAY: Duration = Duration::from_secs(3600);

    fn directory(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("mesos-gc-test-{name}-{}", std::process::id()))
            .join("sandbox");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/file"), "x").unwrap();
        dir
    }

    fn collector() -> GarbageCollector {
        start_runtime();
        Clock::pause();
        GarbageCollector::spawn(None).expect("the garbage collector spawns")
    }

    async fn metric(name: &str) -> f64 {
        let address = Runtime::address().expect("the runtime runs");
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = "GET /metrics/snapshot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let body = response.split_once("\r\n\r\n").unwrap().1;
        serde_json::from_str::<Value>(body).unwrap()[name]
            .as_f64()
            .unwrap_or(0.0)
    }

    #[tokio::test]
    async fn a_scheduled_directory_is_removed_after_its_delay_not_before() {
        let gc = collector();
        let dir = directory("delay");
        let removed = tokio::spawn(gc.schedule(DELAY, &dir));
        Clock::settle().await;
        assert_eq!(metric("gc/path_removals_pending").await, 1.0);
        Clock::advance(DELAY - Duration::from_secs(1));
        Clock::settle().await;
        assert!(dir.exists(), "removed before its delay");
        assert!(!removed.is_finished());
        Clock::advance(Duration::from_secs(1));
        within("the removal", removed).await.unwrap().unwrap();
        assert!(!dir.exists());
        assert_eq!(metric("gc/path_removals_succeeded").await, 1.0);
        assert_eq!(metric("gc/path_removals_pending").await, 0.0);
    }

    #[tokio::test]
    async fn an_unscheduled_directory_is_kept() {
        let gc = collector();
        let dir = directory("unschedule");
        let removed = tokio::spawn(gc.schedule(DELAY, &dir));
        assert!(within("unschedule", gc.unschedule(&dir)).await);
        assert!(matches!(
            within("the schedule's answer", removed).await.unwrap(),
            Err(GcError::Unscheduled { .. })
        ));
        Clock::advance(DELAY * 2);
        Clock::settle().await;
        assert!(dir.exists());
        assert!(!within("unschedule", gc.unschedule(&dir)).await);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn prune_removes_what_is_due_within_the_age_early() {
        let gc = collector();
        let soon = directory("prune-soon");
        let late = directory("prune-late");
        let soon_removed = tokio::spawn(gc.schedule(DELAY, &soon));
        let late_removed = tokio::spawn(gc.schedule(DELAY * 10, &late));
        Clock::settle().await;
        gc.prune(DELAY * 2);
        within("the pruned removal", soon_removed)
            .await
            .unwrap()
            .unwrap();
        assert!(!soon.exists());
        Clock::settle().await;
        assert!(late.exists());
        assert!(!late_removed.is_finished());
        Clock::advance(DELAY * 10);
        within("the later removal", late_removed)
            .await
            .unwrap()
            .unwrap();
        assert!(!late.exists());
    }

    #[tokio::test]
    async fn the_disk_watch_prunes_what_the_disk_cannot_afford() {
        start_runtime();
        Clock::pause();
        let interval = Duration::from_secs(60);
        // With all of the disk as headroom, no age is affordable: everything scheduled
        // within the gc delay goes at the first check.
        let watch = DiskWatch {
            work_dir: std::env::temp_dir(),
            gc_delay: DELAY * 10,
            headroom: 1.0,
            interval,
        };
        let gc = GarbageCollector::spawn(Some(watch)).expect("the garbage collector spawns");
        let dir = directory("disk-watch");
        let removed = tokio::spawn(gc.schedule(DELAY, &dir));
        Clock::settle().await;
        assert!(dir.exists());
        Clock::advance(interval);
        within("the pruned removal", removed)
            .await
            .unwrap()
            .unwrap();
        assert!(!dir.exists());
    }

    #[tokio::test]
    async fn scheduling_again_replaces_the_earlier_schedule() {
        let gc = collector();
        let dir = directory("reschedule");
        let first = tokio::spawn(gc.schedule(DELAY, &dir));
        let second = tokio::spawn(gc.schedule(DELAY * 3, &dir));
        assert!(matches!(
            within("the first answer", first).await.unwrap(),
            Err(GcError::Unscheduled { .. })
        ));
        Clock::advance(DELAY * 2);
        Clock::settle().await;
        assert!(dir.exists());
        Clock::advance(DELAY);
        within("the removal", second).await.unwrap().unwrap();
        assert!(!dir.exists());
    }
}

//! A minimal blocking HTTP client for the daemons' JSON endpoints: one `GET`, the
//! connection closed after it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// How long one request may take; a daemon that does not answer in time counts as
/// not answering, and the caller polls again.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET path` from `addr`: the body as JSON when the answer is a 200 with a JSON
/// body, `None` otherwise (nothing listening yet, a redirect, a half-written answer).
pub fn get_json(addr: SocketAddr, path: &str) -> Option<Value> {
    let (status, body) = get(addr, path)?;
    if status != 200 {
        return None;
    }
    serde_json::from_str(&body).ok()
}

/// `GET path` from `addr`: the status code and the `Location` header, if any.
pub fn get_status_and_location(addr: SocketAddr, path: &str) -> Option<(u16, Option<String>)> {
    let (status, head, _) = request(addr, path)?;
    let location = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    Some((status, location))
}

/// `GET path` from `addr`: the status code and the body.
pub(crate) fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let (status, _, body) = request(addr, path)?;
    Some((status, body))
}

/// `GET path` from `addr`: the status code, the head and the body.
fn request(addr: SocketAddr, path: &str) -> Option<(u16, String, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head.to_owned(), body.to_owned()))
}

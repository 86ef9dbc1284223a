//! `zk://[username:password@]host:port[,host:port...]/path`: where a group of masters
//! elects its leader, as Mesos's `zookeeper::URL` reads it.
//!
//! The parser is strict where ZooKeeper itself would fail later with a vaguer error:
//! every server needs a port, and the path must be a valid ZooKeeper node path other
//! than `/` (Mesos refuses the root: the group's nodes need a chroot of their own).

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// The scheme that marks a ZooKeeper URL.
pub const SCHEME: &str = "zk://";

/// A parsed `zk://` URL: the ensemble's servers, the group's path and the optional
/// digest credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ZooKeeperUrl {
    /// The ensemble, in the order given.
    pub servers: Vec<ZooKeeperServer>,
    /// The group's node, e.g. `/mesos`: absolute, never `/` itself, no trailing `/`.
    pub path: String,
    /// `username:password` for ZooKeeper's `digest` authentication scheme.
    pub credentials: Option<ZooKeeperCredentials>,
}

/// One server of the ensemble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZooKeeperServer {
    /// A host name, an IPv4 address, or an IPv6 address (written in brackets in the URL).
    pub host: String,
    /// The client port (ZooKeeper's default is 2181, but the URL must say it).
    pub port: u16,
}

/// Credentials for the `digest` scheme. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ZooKeeperCredentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// Why a text is not a ZooKeeper URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZooKeeperUrlError {
    /// The text does not start with `zk://`.
    #[error("expecting 'zk://' at the beginning of the URL")]
    MissingScheme,
    /// The credentials are not `username:password`.
    #[error("expecting 'username:password' in the credentials")]
    BadCredentials,
    /// No server is named.
    #[error("expecting at least one 'host:port' server")]
    NoServers,
    /// A server is not `host:port`.
    #[error("invalid server '{server}': {reason}")]
    BadServer {
        /// The server as written.
        server: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// There is no path, or it is `/`.
    #[error("expecting a (chroot) path for ZooKeeper ('/' is not supported)")]
    MissingPath,
    /// The path is not a valid ZooKeeper node path.
    #[error("invalid ZooKeeper path '{path}': {reason}")]
    BadPath {
        /// The path as written.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl ZooKeeperUrl {
    /// Parses `zk://[username:password@]host:port[,host:port...]/path`. Surrounding
    /// whitespace is ignored. The path starts at the first `/` after the scheme, as in
    /// Mesos, so credentials cannot contain `/`; they are split from the servers at
    /// the last `@`, so a password may contain `@`.
    pub fn parse(text: &str) -> Result<ZooKeeperUrl, ZooKeeperUrlError> {
        let rest = text
            .trim()
            .strip_prefix(SCHEME)
            .ok_or(ZooKeeperUrlError::MissingScheme)?;
        let (authority, path) = match rest.find('/') {
            Some(index) => rest.split_at(index),
            None => (rest, ""),
        };
        let (credentials, servers) = match authority.rsplit_once('@') {
            Some((credentials, servers)) => (Some(parse_credentials(credentials)?), servers),
            None => (None, authority),
        };
        Ok(ZooKeeperUrl {
            servers: parse_servers(servers)?,
            path: parse_path(path)?,
            credentials,
        })
    }

    /// The servers as ZooKeeper clients take them: `host:port,host:port`.
    pub fn connect_string(&self) -> String {
        self.servers
            .iter()
            .map(ZooKeeperServer::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl FromStr for ZooKeeperUrl {
    type Err = ZooKeeperUrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ZooKeeperUrl::parse(text)
    }
}

/// Writes the URL with the password masked, so that it can go to logs.
impl fmt::Display for ZooKeeperUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SCHEME)?;
        if let Some(credentials) = &self.credentials {
            write!(f, "{}:********@", credentials.username)?;
        }
        write!(f, "{}{}", self.connect_string(), self.path)
    }
}

impl fmt::Debug for ZooKeeperUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZooKeeperUrl({self})")
    }
}

impl fmt::Display for ZooKeeperServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for ZooKeeperCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZooKeeperCredentials")
            .field("username", &self.username)
            .field("password", &"********")
            .finish()
    }
}

/// `username:password`, both non-empty, with exactly one `:` (Mesos tokenizes on `:`
/// and wants two tokens).
fn parse_credentials(text: &str) -> Result<ZooKeeperCredentials, ZooKeeperUrlError> {
    match text.split_once(':') {
        Some((username, password))
            if !username.is_empty() && !password.is_empty() && !password.contains(':') =>
        {
            Ok(ZooKeeperCredentials {
                username: username.to_owned(),
                password: password.to_owned(),
            })
        }
        _ => Err(ZooKeeperUrlError::BadCredentials),
    }
}

fn parse_servers(text: &str) -> Result<Vec<ZooKeeperServer>, ZooKeeperUrlError> {
    if text.is_empty() {
        return Err(ZooKeeperUrlError::NoServers);
    }
    text.split(',').map(parse_server).collect()
}

fn parse_server(text: &str) -> Result<ZooKeeperServer, ZooKeeperUrlError> {
    let bad = |reason| ZooKeeperUrlError::BadServer {
        server: text.chars().take(256).collect(),
        reason,
    };
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' around an IPv6 address"))?;
        host.parse::<Ipv6Addr>()
            .map_err(|_| bad("not an IPv6 address inside '[...]'"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| bad("expecting ':port' after the address"))?;
        (host, port)
    } else {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| bad("expecting 'host:port'"))?;
        if !is_host_name(host) {
            return Err(bad("not a host name or IPv4 address"));
        }
        (host, port)
    };
    let port = match port.parse::<u16>() {
        Ok(0) | Err(_) => return Err(bad("expecting a port from 1 to 65535")),
        Ok(port) => port,
    };
    Ok(ZooKeeperServer {
        host: host.to_owned(),
        port,
    })
}

/// A DNS name or dotted IPv4 address: labels of letters, digits, `-` and `_`
/// separated by single dots.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// A ZooKeeper node path (the rules of ZooKeeper's `PathUtils.validatePath`), not `/`.
fn parse_path(path: &str) -> Result<String, ZooKeeperUrlError> {
    if path.is_empty() || path == "/" {
        return Err(ZooKeeperUrlError::MissingPath);
    }
    let bad = |reason| ZooKeeperUrlError::BadPath {
        path: path.chars().take(256).collect(),
        reason,
    };
    if path.ends_with('/') {
        return Err(bad("a path must not end with '/'"));
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return Err(bad("empty node name")),
            "." | ".." => return Err(bad("relative node names ('.' and '..') are not allowed")),
            _ => {}
        }
    }
    if path.chars().any(forbidden_in_path) {
        return Err(bad("invalid character"));
    }
    Ok(path.to_owned())
}

/// Characters ZooKeeper refuses in node names: NUL, control characters, and the
/// private-use and specials ranges (surrogates cannot occur in a Rust `str`).
fn forbidden_in_path(c: char) -> bool {
    c == '\0'
        || c.is_control()
        || ('\u{e000}'..='\u{f8ff}').contains(&c)
        || ('\u{fff0}'..='\u{ffff}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: &str, port: u16) -> ZooKeeperServer {
        ZooKeeperServer {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_one_server_and_a_path() {
        let url = ZooKeeperUrl::parse("zk://127.0.0.1:2181/mesos").unwrap();
        assert_eq!(url.servers, [server("127.0.0.1", 2181)]);
        assert_eq!(url.path, "/mesos");
        assert_eq!(url.credentials, None);
        assert_eq!(url.to_string(), "zk://127.0.0.1:2181/mesos");
    }

    #[test]
    fn parses_an_ensemble_with_names_ipv6_and_nested_paths() {
        let url =
            ZooKeeperUrl::parse("  zk://zk1.example.com:2181,[::1]:2182,10.0.0.3:2183/a/b_c/d-e  ")
                .unwrap();
        assert_eq!(
            url.servers,
            [
                server("zk1.example.com", 2181),
                server("::1", 2182),
                server("10.0.0.3", 2183)
            ]
        );
        assert_eq!(url.path, "/a/b_c/d-e");
        assert_eq!(
            url.connect_string(),
            "zk1.example.com:2181,[::1]:2182,10.0.0.3:2183"
        );
    }

    #[test]
    fn parses_credentials_and_hides_the_password() {
        let url = ZooKeeperUrl::parse("zk://jane:s3cr@t@zk1:2181,zk2:2181/mesos").unwrap();
        let credentials = url.credentials.clone().unwrap();
        assert_eq!(credentials.username, "jane");
        assert_eq!(credentials.password, "s3cr@t", "split at the last '@'");
        assert_eq!(url.servers, [server("zk1", 2181), server("zk2", 2181)]);
        assert_eq!(
            url.to_string(),
            "zk://jane:********@zk1:2181,zk2:2181/mesos"
        );
        assert!(!format!("{url:?} {credentials:?}").contains("s3cr@t"));
    }

    #[test]
    fn refuses_bad_credentials() {
        for text in [
            "zk://jane@zk:2181/m",
            "zk://jane:@zk:2181/m",
            "zk://:pw@zk:2181/m",
            "zk://a:b:c@zk:2181/m",
            "zk://@zk:2181/m",
        ] {
            assert_eq!(
                ZooKeeperUrl::parse(text),
                Err(ZooKeeperUrlError::BadCredentials),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_bad_servers() {
        for text in [
            "zk://zk/mesos",
            "zk://zk:/mesos",
            "zk://zk:0/mesos",
            "zk://zk:65536/mesos",
            "zk://zk:-1/mesos",
            "zk://:2181/mesos",
            "zk://zk:2181,,zk2:2181/mesos",
            "zk://zk:2181,/mesos",
            "zk://zk..com:2181/mesos",
            "zk://z k:2181/mesos",
            "zk://[::1:2181/mesos",
            "zk://[nope]:2181/mesos",
            "zk://[::1]/mesos",
            "zk://::1:2181/mesos",
        ] {
            assert!(
                matches!(
                    ZooKeeperUrl::parse(text),
                    Err(ZooKeeperUrlError::BadServer { .. })
                ),
                "{text}: {:?}",
                ZooKeeperUrl::parse(text)
            );
        }
        assert_eq!(
            ZooKeeperUrl::parse("zk:///mesos"),
            Err(ZooKeeperUrlError::NoServers)
        );
    }

    #[test]
    fn refuses_missing_and_bad_paths() {
        for text in ["zk://zk:2181", "zk://zk:2181/"] {
            assert_eq!(
                ZooKeeperUrl::parse(text),
                Err(ZooKeeperUrlError::MissingPath),
                "{text}"
            );
        }
        for text in [
            "zk://zk:2181/mesos/",
            "zk://zk:2181//mesos",
            "zk://zk:2181/a//b",
            "zk://zk:2181/a/./b",
            "zk://zk:2181/a/..",
            "zk://zk:2181/a\u{0}b",
            "zk://zk:2181/a\u{7}b",
            "zk://zk:2181/a\u{e000}b",
            "zk://zk:2181/a\u{fff0}",
        ] {
            assert!(
                matches!(
                    ZooKeeperUrl::parse(text),
                    Err(ZooKeeperUrlError::BadPath { .. })
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn refuses_other_schemes() {
        for text in [
            "",
            "zk:/zk:2181/m",
            "ZK://zk:2181/m",
            "http://zk:2181/m",
            "zk:",
        ] {
            assert_eq!(
                ZooKeeperUrl::parse(text),
                Err(ZooKeeperUrlError::MissingScheme),
                "{text}"
            );
        }
    }

    #[test]
    fn what_parses_prints_back_to_itself() {
        for text in [
            "zk://a:1/b",
            "zk://[fe80::1]:2181,b.c:2/x/y.z",
            "zk://h_1-2:65535/..x/.y",
        ] {
            let url = ZooKeeperUrl::parse(text).unwrap();
            assert_eq!(url.to_string(), text);
            assert_eq!(ZooKeeperUrl::parse(&url.to_string()).unwrap(), url);
        }
    }
}

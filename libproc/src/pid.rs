//! Process identity: `ProcessId` names a process inside one runtime, `Pid` names it
//! anywhere (`id@ip:port`, libprocess's `UPID`).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest process id accepted from text or the wire; ids are names, not payloads.
pub const MAX_PROCESS_ID_LEN: usize = 1024;

/// The name of a process within one runtime, such as `master`, `slave(1)` or
/// `scheduler-3f2e…`. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessId(Arc<str>);

impl ProcessId {
    /// Makes a process id from a name. Names are kept verbatim, because they appear in
    /// logs, endpoints and messages.
    pub fn new(id: impl AsRef<str>) -> Self {
        ProcessId(Arc::from(id.as_ref()))
    }

    /// Returns `prefix(N)` with a per-prefix counter starting at 1, as libprocess's
    /// `ID::generate` does, so that `slave(1)` and `executor(1)` keep their Mesos names.
    pub fn generate(prefix: &str) -> Self {
        static COUNTERS: OnceLock<Mutex<HashMap<String, u64>>> = OnceLock::new();
        let mut counters = COUNTERS
            .get_or_init(Default::default)
            .lock()
            .expect("the id counters are never poisoned: no code panics while holding them");
        let n = counters.entry(prefix.to_owned()).or_insert(0);
        *n += 1;
        ProcessId::new(format!("{prefix}({n})"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::borrow::Borrow<str> for ProcessId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ProcessId {
    fn from(id: &str) -> Self {
        ProcessId::new(id)
    }
}

impl From<String> for ProcessId {
    fn from(id: String) -> Self {
        ProcessId(Arc::from(id))
    }
}

/// The address of a process anywhere: its id and the `ip:port` of the runtime that
/// hosts it. Written `id@ip:port`, in text and in serde, as libprocess writes a `UPID`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid {
    /// The process's name inside its runtime.
    pub id: ProcessId,
    /// The advertised address of the runtime hosting the process.
    pub addr: SocketAddr,
}

impl Pid {
    /// Makes a pid from its parts.
    pub fn new(id: impl Into<ProcessId>, addr: SocketAddr) -> Self {
        Pid {
            id: id.into(),
            addr,
        }
    }
}

/// Why a text is not a `Pid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParsePidError {
    /// There is no `@` between the id and the address.
    #[error("pid '{0}' has no '@' between the id and the address")]
    MissingAt(String),
    /// The id before the `@` is empty or too long.
    #[error("pid '{0}' has an empty or over-long process id")]
    BadId(String),
    /// The part after the `@` is not `ip:port`.
    #[error("pid '{text}' has an invalid address: {reason}")]
    BadAddress {
        /// The whole text.
        text: String,
        /// What the address parser said.
        reason: String,
    },
}

impl FromStr for Pid {
    type Err = ParsePidError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let excerpt = || text.chars().take(128).collect::<String>();
        let (id, addr) = text
            .split_once('@')
            .ok_or_else(|| ParsePidError::MissingAt(excerpt()))?;
        if id.is_empty() || id.len() > MAX_PROCESS_ID_LEN {
            return Err(ParsePidError::BadId(excerpt()));
        }
        let addr =
            addr.parse()
                .map_err(|e: std::net::AddrParseError| ParsePidError::BadAddress {
                    text: excerpt(),
                    reason: e.to_string(),
                })?;
        Ok(Pid::new(id, addr))
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.addr)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pid({self})")
    }
}

impl Serialize for Pid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Pid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_mesos_pids() {
        for text in [
            "master@10.0.0.5:5050",
            "slave(1)@127.0.0.1:5051",
            "scheduler-3f2e@[::1]:40123",
        ] {
            let pid: Pid = text.parse().unwrap();
            assert_eq!(pid.to_string(), text);
        }
        let pid: Pid = "slave(1)@127.0.0.1:5051".parse().unwrap();
        assert_eq!(pid.id.as_str(), "slave(1)");
        assert_eq!(pid.addr, "127.0.0.1:5051".parse().unwrap());
    }

    #[test]
    fn splits_at_the_first_at_sign() {
        assert!(matches!(
            "a@b@127.0.0.1:1".parse::<Pid>(),
            Err(ParsePidError::BadAddress { .. })
        ));
    }

    #[test]
    fn rejects_bad_pids_with_reasons() {
        assert!(matches!(
            "master".parse::<Pid>(),
            Err(ParsePidError::MissingAt(_))
        ));
        assert!(matches!(
            "@1.2.3.4:5".parse::<Pid>(),
            Err(ParsePidError::BadId(_))
        ));
        assert!(matches!(
            "master@host:5050".parse::<Pid>(),
            Err(ParsePidError::BadAddress { .. })
        ));
        assert!(matches!(
            "master@1.2.3.4:99999".parse::<Pid>(),
            Err(ParsePidError::BadAddress { .. })
        ));
        let long = format!("{}@1.2.3.4:5", "x".repeat(MAX_PROCESS_ID_LEN + 1));
        assert!(matches!(long.parse::<Pid>(), Err(ParsePidError::BadId(_))));
        assert!("".parse::<Pid>().is_err());
    }

    #[test]
    fn serde_uses_the_text_form() {
        let pid: Pid = "slave(1)@127.0.0.1:5051".parse().unwrap();
        let json = serde_json::to_string(&pid).unwrap();
        assert_eq!(json, "\"slave(1)@127.0.0.1:5051\"");
        assert_eq!(serde_json::from_str::<Pid>(&json).unwrap(), pid);
        assert!(serde_json::from_str::<Pid>("\"nope\"").is_err());
    }

    #[test]
    fn generate_counts_per_prefix() {
        let a = ProcessId::generate("pid-test-prefix");
        let b = ProcessId::generate("pid-test-prefix");
        let c = ProcessId::generate("pid-test-other");
        assert_eq!(a.as_str(), "pid-test-prefix(1)");
        assert_eq!(b.as_str(), "pid-test-prefix(2)");
        assert_eq!(c.as_str(), "pid-test-other(1)");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in ".{0,64}") {
            let _ = text.parse::<Pid>();
        }
    }
}

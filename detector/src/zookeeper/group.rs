//! The group of masters under `<path>`, read as Mesos reads it: members are the
//! children labelled `json.info_<seq>`; the leader is the lowest-sequence member whose
//! data is a `MasterInfo` in JSON naming a master. Other children (`log_replicas`,
//! legacy `info_` members) are not members of this group.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::ControlFlow;
use std::pin::Pin;

use libproc::Pid;
use mesos_proto::mesos::MasterInfo;
use zookeeper_client as zk;

use super::session::{Backoff, Session, SessionEvent, SessionLoss};
use crate::MASTER_ID;

/// The label of the members Mesos masters create since 0.24: their data is JSON.
pub(crate) const LABEL: &str = "json.info_";

/// One master's node in the group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Member {
    /// ZooKeeper's sequence number, which orders the members (first field: the order
    /// of `Member` is the order of election).
    pub(crate) sequence: u64,
    /// The node's name, `json.info_<seq>`.
    pub(crate) name: String,
}

impl Member {
    /// Reads a child's name; `None` for children that are not members.
    pub(crate) fn parse(name: &str) -> Option<Member> {
        let digits = name.strip_prefix(LABEL)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Member {
            sequence: digits.parse().ok()?,
            name: name.to_owned(),
        })
    }
}

/// The members among `children`, in the order of election.
pub(crate) fn members(children: &[String]) -> Vec<Member> {
    let mut members: Vec<Member> = children.iter().filter_map(|c| Member::parse(c)).collect();
    members.sort();
    members
}

/// The member that leads and the master it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leader {
    pub(crate) member: Member,
    pub(crate) pid: Pid,
}

/// Why a member's data names no master. Such a member is skipped, never elected.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CorruptMember {
    /// The data is not a JSON `MasterInfo`.
    #[error("not a JSON MasterInfo: {0}")]
    Json(#[from] serde_json::Error),
    /// `pid` is present but not `master@ip:port`.
    #[error("invalid master pid '{0}'")]
    Pid(String),
    /// Neither `pid` nor an address with an IP gives the master's address.
    #[error("no pid and no IP address")]
    NoAddress,
}

/// The master a member's data names, as Mesos's detectors derive it: `pid` when
/// present, else `address.ip` with the port, else the legacy `ip` (network-order
/// bytes) with the port.
pub(crate) fn member_pid(data: &[u8]) -> Result<Pid, CorruptMember> {
    let info: MasterInfo = serde_json::from_slice(data)?;
    if let Some(pid) = &info.pid {
        return pid
            .parse::<Pid>()
            .map_err(|_| CorruptMember::Pid(pid.chars().take(256).collect()));
    }
    let port = u16::try_from(info.port).map_err(|_| CorruptMember::NoAddress)?;
    let ip = match info.address.as_ref().and_then(|a| a.ip.as_deref()) {
        Some(ip) => ip.parse::<IpAddr>().map_err(|_| CorruptMember::NoAddress)?,
        None if info.ip != 0 => IpAddr::V4(Ipv4Addr::from(info.ip.to_le_bytes())),
        None => return Err(CorruptMember::NoAddress),
    };
    Ok(Pid::new(MASTER_ID, SocketAddr::new(ip, port)))
}

/// Lists the members and leaves a watch that fires on the next change of the group:
/// a child added or removed, or the group node created or deleted.
pub(crate) async fn watch_members(
    client: &zk::Client,
    path: &str,
) -> Result<(Vec<Member>, zk::OneshotWatcher), zk::Error> {
    loop {
        match client.get_and_watch_children(path).await {
            Ok((children, _, watcher)) => return Ok((members(&children), watcher)),
            Err(zk::Error::NoNode) => {
                let (stat, watcher) = client.check_and_watch_stat(path).await?;
                if stat.is_none() {
                    return Ok((Vec::new(), watcher));
                }
                // Created in between: list it.
            }
            Err(error) => return Err(error),
        }
    }
}

/// The leader among `members`: the first whose data names a master. Members that
/// vanished meanwhile are passed over; corrupt ones are skipped with a warning.
pub(crate) async fn leader(
    client: &zk::Client,
    path: &str,
    members: &[Member],
) -> Result<Option<Leader>, zk::Error> {
    for member in members {
        let node = format!("{path}/{}", member.name);
        let data = match client.get_data(&node).await {
            Ok((data, _)) => data,
            Err(zk::Error::NoNode) => continue,
            Err(error) => return Err(error),
        };
        match member_pid(&data) {
            Ok(pid) => {
                return Ok(Some(Leader {
                    member: member.clone(),
                    pid,
                }))
            }
            Err(error) => {
                tracing::warn!(%node, %error, "Skipping a group member with corrupt data");
            }
        }
    }
    Ok(None)
}

/// The group as read once.
#[derive(Debug)]
pub(crate) struct View {
    pub(crate) members: Vec<Member>,
    pub(crate) leader: Option<Leader>,
}

/// Reads the group now and after every change, handing each reading to `on_view`,
/// until `on_view` breaks (`Ok`) or the session is lost (`Err`). The group is read
/// again after a reconnection, since watches may have missed changes meanwhile;
/// failed readings are retried with backoff.
pub(crate) async fn follow<B>(
    session: &mut Session,
    path: &str,
    mut on_view: impl FnMut(View) -> ControlFlow<B>,
) -> Result<B, SessionLoss> {
    let mut backoff = Backoff::new();
    loop {
        let read = async {
            let (members, watcher) = watch_members(session.client(), path).await?;
            let leader = leader(session.client(), path, &members).await?;
            Ok::<_, zk::Error>((View { members, leader }, watcher))
        };
        // What makes reading again worthwhile: a change, or the retry interval.
        let next: Pin<Box<dyn Future<Output = ()> + Send>> = match read.await {
            Ok((view, watcher)) => {
                backoff = Backoff::new();
                if let ControlFlow::Break(done) = on_view(view) {
                    return Ok(done);
                }
                Box::pin(async move {
                    watcher.changed().await;
                })
            }
            Err(error) => {
                let wait = backoff.next();
                tracing::warn!(%path, %error, retry_in = ?wait, "Failed to read the masters' group");
                Box::pin(tokio::time::sleep(wait))
            }
        };
        tokio::select! {
            () = next => {}
            event = session.event() => {
                if let SessionEvent::Lost(loss) = event {
                    return Err(loss);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_json_info_children_in_sequence_order() {
        let children: Vec<String> = [
            "json.info_0000000012",
            "log_replicas",
            "info_0000000001",
            "json.info_0000000003",
            "json.info_",
            "json.info_12a",
            "json.info_-000000001",
            "0000000000",
        ]
        .map(String::from)
        .to_vec();
        let members = members(&children);
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["json.info_0000000003", "json.info_0000000012"]);
        assert_eq!(members[0].sequence, 3);
    }

    #[test]
    fn the_pid_field_names_the_master() {
        let data = br#"{"id":"x","ip":16777343,"port":5050,"pid":"master@127.0.0.1:5050",
            "hostname":"h","version":"1.12.0",
            "address":{"hostname":"h","ip":"127.0.0.1","port":5050},
            "capabilities":[{"type":"AGENT_UPDATE"}]}"#;
        assert_eq!(
            member_pid(data).unwrap(),
            "master@127.0.0.1:5050".parse().unwrap()
        );
    }

    #[test]
    fn without_a_pid_the_address_then_the_legacy_ip_name_the_master() {
        let data = br#"{"id":"x","ip":0,"port":5051,"address":{"ip":"10.0.0.5","port":5051}}"#;
        assert_eq!(
            member_pid(data).unwrap(),
            "master@10.0.0.5:5051".parse().unwrap()
        );
        // 16777343 is 127.0.0.1 in network order read as a little-endian number.
        let data = br#"{"id":"x","ip":16777343,"port":5050}"#;
        assert_eq!(
            member_pid(data).unwrap(),
            "master@127.0.0.1:5050".parse().unwrap()
        );
    }

    #[test]
    fn corrupt_data_is_refused_without_panicking() {
        for data in [
            &b""[..],
            b"garbage",
            b"\xff\xfe",
            b"[]",
            br#"{"id":"x","port":5050}"#,
            br#"{"id":"x","ip":1,"port":70000}"#,
            br#"{"pid":"nobody"}"#,
            br#"{"port":1,"address":{"ip":"not-an-ip","port":1}}"#,
            br#"{"ip":"text"}"#,
        ] {
            assert!(member_pid(data).is_err(), "{data:?}");
        }
    }
}

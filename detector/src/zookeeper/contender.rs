//! The ZooKeeper master contender (Mesos's `ZooKeeperMasterContender`): a master
//! joins the group with its `MasterInfo` and learns when it is elected and when it
//! loses leadership.
//!
//! Losing is final for a candidacy. Mesos's master exits when that happens to a
//! leader; here the contender reports [`Leadership::Lost`] at once and the master
//! acts on it (stop leading, then contend again or exit). Leadership is lost when
//! the session expires, when the connection stays down for a whole session timeout
//! (the ensemble expires the session by then, and another master may already lead),
//! when the node is deleted, or when a lower member starts naming a master.

use std::ops::ControlFlow;
use std::time::Duration;

use mesos_proto::mesos::MasterInfo;
use tokio::sync::watch;
use tokio::time::Instant;
use zookeeper_client as zk;

use super::group::{self, LABEL};
use super::session::{is_retryable, Backoff, Connector, Session, SessionLoss};
use super::{ZooKeeperUrl, ZooKeeperUrlError, DEFAULT_SESSION_TIMEOUT};

/// Read for anyone, everything for the creator: Mesos's ACL for group nodes when the
/// URL carries credentials (the `auth` scheme means "the authenticated creator").
static READ_CREATOR_ALL: [zk::Acl; 2] = [
    zk::Acl::new_const(zk::Permission::READ, "world", "anyone"),
    zk::Acl::new_const(zk::Permission::ALL, "auth", ""),
];

/// Why a master cannot contend.
#[derive(Debug, thiserror::Error)]
pub enum ContenderError {
    /// The `--zk` value is not a ZooKeeper URL.
    #[error(transparent)]
    Url(#[from] ZooKeeperUrlError),
    /// The `MasterInfo` would not name a master to detectors (no pid, no address).
    #[error("MasterInfo names no master: {0}")]
    MasterInfo(String),
    /// ZooKeeper refused an operation in a way retrying cannot fix (ACLs, quotas...).
    #[error("ZooKeeper refused to {action} '{path}': {source}")]
    ZooKeeper {
        /// What was attempted.
        action: &'static str,
        /// The node.
        path: String,
        /// What ZooKeeper said.
        source: zk::Error,
    },
}

/// Where a candidacy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leadership {
    /// In the group, behind another master.
    Contending,
    /// The leader: this member is the lowest that names a master.
    Elected,
    /// Out of the group for good; a leader must stop leading at once.
    Lost(LossReason),
}

/// Why a candidacy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossReason {
    /// ZooKeeper expired the session, which deleted the node.
    SessionExpired,
    /// The connection stayed down for a whole session timeout.
    Disconnected,
    /// The session was closed (or failed authentication).
    SessionClosed,
    /// Someone deleted the node.
    NodeDeleted,
    /// A lower member now names a master, so this one no longer leads.
    Superseded,
}

impl From<SessionLoss> for LossReason {
    fn from(loss: SessionLoss) -> Self {
        match loss {
            SessionLoss::Expired => LossReason::SessionExpired,
            SessionLoss::Disconnected => LossReason::Disconnected,
            SessionLoss::Closed => LossReason::SessionClosed,
        }
    }
}

/// A master's entry to the election under a `zk://` URL.
///
/// ```no_run
/// # async fn example(info: mesos_proto::mesos::MasterInfo) {
/// use mesos_detector::zookeeper::{Leadership, MasterContender};
///
/// let contender = MasterContender::new("zk://127.0.0.1:2181/mesos", &info).unwrap();
/// let mut candidacy = contender.contend().await.unwrap();
/// loop {
///     match candidacy.changed().await {
///         Leadership::Elected => println!("leading"),
///         Leadership::Contending => println!("waiting behind another master"),
///         Leadership::Lost(reason) => {
///             println!("stop leading now: {reason:?}");
///             break;
///         }
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MasterContender {
    connector: Connector,
    path: String,
    data: Vec<u8>,
    acls: zk::Acls<'static>,
}

impl MasterContender {
    /// A contender for the group at `url` (`zk://...`) with `info`, written as the
    /// JSON detectors read. The session timeout is Mesos's default, 10 s.
    pub fn new(url: &str, info: &MasterInfo) -> Result<Self, ContenderError> {
        let url = ZooKeeperUrl::parse(url)?;
        let data = member_data(info)?;
        let acls = if url.credentials.is_some() {
            zk::Acls::new(&READ_CREATOR_ALL)
        } else {
            zk::Acls::anyone_all()
        };
        Ok(MasterContender {
            path: url.path.clone(),
            connector: Connector::new(url, DEFAULT_SESSION_TIMEOUT),
            data,
            acls,
        })
    }

    /// The same contender with another session timeout (Mesos `--zk_session_timeout`).
    pub fn with_session_timeout(self, timeout: Duration) -> Self {
        let url = self.connector.url().clone();
        MasterContender {
            connector: Connector::new(url, timeout),
            ..self
        }
    }

    /// Joins the group: opens a session (waiting for an unreachable ensemble, with
    /// backoff) and creates `<path>/json.info_<seq>`, creating `<path>` if missing.
    /// The returned candidacy follows the election; dropping it closes the session,
    /// which removes the node.
    pub async fn contend(&self) -> Result<Candidacy, ContenderError> {
        let mut backoff = Backoff::new();
        loop {
            let session = self.connector.connect().await;
            match self.join(session.client()).await {
                Ok(member) => return Ok(Candidacy::start(session, self.path.clone(), member)),
                Err((action, path, error)) if is_retryable(&error) => {
                    // The session is dropped: a node the lost reply may have created
                    // goes with it, so it cannot linger as a member nobody follows.
                    let wait = backoff.next();
                    tracing::warn!(%path, %error, action, retry_in = ?wait, "Failed to join the masters' group");
                    tokio::time::sleep(wait).await;
                }
                Err((action, path, source)) => {
                    return Err(ContenderError::ZooKeeper {
                        action,
                        path,
                        source,
                    })
                }
            }
        }
    }

    async fn join(&self, client: &zk::Client) -> Result<String, (&'static str, String, zk::Error)> {
        let group = zk::CreateMode::Persistent.with_acls(self.acls);
        client
            .mkdir(&self.path, &group)
            .await
            .map_err(|e| ("create", self.path.clone(), e))?;
        let prefix = format!("{}/{LABEL}", self.path);
        let member = zk::CreateMode::EphemeralSequential.with_acls(self.acls);
        let (_, sequence) = client
            .create(&prefix, &self.data, &member)
            .await
            .map_err(|e| ("create", prefix.clone(), e))?;
        let name = format!("{LABEL}{sequence}");
        tracing::info!(
            node = %format!("{}/{name}", self.path),
            session = %client.session_id(),
            "Joined the masters' group"
        );
        Ok(name)
    }
}

/// A member's data: `info` as JSON, with absent fields left out rather than `null`
/// (Mesos's protobuf JSON has no nulls), checked to name a master as detectors read it.
fn member_data(info: &MasterInfo) -> Result<Vec<u8>, ContenderError> {
    let invalid = |e: &dyn std::fmt::Display| ContenderError::MasterInfo(e.to_string());
    let mut json = serde_json::to_value(info).map_err(|e| invalid(&e))?;
    drop_nulls(&mut json);
    let data = serde_json::to_vec(&json).map_err(|e| invalid(&e))?;
    group::member_pid(&data).map_err(|e| invalid(&e))?;
    Ok(data)
}

fn drop_nulls(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Object(fields) => {
            fields.retain(|_, value| !value.is_null());
            fields.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// One membership in the group: says when it is elected and when it is lost.
#[derive(Debug)]
pub struct Candidacy {
    node: String,
    client: zk::Client,
    leadership: watch::Receiver<Leadership>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Candidacy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Candidacy {
    fn start(session: Session, path: String, member: String) -> Candidacy {
        let node = format!("{path}/{member}");
        let client = session.client().clone();
        let (sender, leadership) = watch::channel(Leadership::Contending);
        let task = tokio::spawn(follow(session, path, member, sender));
        Candidacy {
            node,
            client,
            leadership,
            task,
        }
    }

    /// The member's node, `<path>/json.info_<seq>`.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Where the candidacy stands now.
    pub fn leadership(&self) -> Leadership {
        *self.leadership.borrow()
    }

    /// Resolves with the leadership once it changed since the last call (or since
    /// joining); once lost, resolves at once with [`Leadership::Lost`] every time.
    pub async fn changed(&mut self) -> Leadership {
        let current = *self.leadership.borrow();
        if let Leadership::Lost(_) = current {
            return current;
        }
        // The task always reports a loss before it ends, so an error (no sender)
        // leaves the loss to read.
        let _ = self.leadership.changed().await;
        *self.leadership.borrow_and_update()
    }

    /// Leaves the group: deletes the node and closes the session. A node already gone
    /// with its session counts as withdrawn.
    /// While disconnected, deleting is retried for up to a session timeout: closing a
    /// session the server cannot hear from would leave the node for that long anyway.
    pub async fn withdraw(self) -> Result<(), ContenderError> {
        self.task.abort();
        let deadline = Instant::now() + self.client.session_timeout();
        let mut backoff = Backoff::new();
        loop {
            match self.client.delete(&self.node, None).await {
                Ok(())
                | Err(zk::Error::NoNode | zk::Error::SessionExpired | zk::Error::ClientClosed) => {
                    tracing::info!(node = %self.node, "Withdrew from the masters' group");
                    return Ok(());
                }
                Err(zk::Error::ConnectionLoss) if Instant::now() < deadline => {
                    tokio::time::sleep(backoff.next()).await;
                }
                Err(source) => {
                    return Err(ContenderError::ZooKeeper {
                        action: "delete",
                        path: self.node.clone(),
                        source,
                    })
                }
            }
        }
    }
}

/// Follows the election for one member until its candidacy is lost.
async fn follow(
    mut session: Session,
    path: String,
    member: String,
    leadership: watch::Sender<Leadership>,
) {
    let node = format!("{path}/{member}");
    let followed = group::follow(&mut session, &path, |view| {
        if !view.members.iter().any(|m| m.name == member) {
            return ControlFlow::Break(LossReason::NodeDeleted);
        }
        let elected = view.leader.is_some_and(|l| l.member.name == member);
        // Copied out first: the borrow must end before `send_replace` writes.
        let was = *leadership.borrow();
        match (was, elected) {
            (Leadership::Elected, false) => return ControlFlow::Break(LossReason::Superseded),
            (Leadership::Contending, true) => {
                tracing::info!(%node, "Elected as the leading master");
                leadership.send_replace(Leadership::Elected);
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    let reason = followed.await.unwrap_or_else(LossReason::from);
    if leadership.send_replace(Leadership::Lost(reason)) == Leadership::Elected {
        tracing::error!(%node, ?reason, "Lost leadership: stop leading now");
    } else {
        tracing::warn!(%node, ?reason, "Lost candidacy");
    }
}

#[cfg(test)]
mod tests {
    use mesos_proto::mesos::Address;

    use super::*;

    #[test]
    fn member_data_is_mesos_json_without_nulls() {
        let info = MasterInfo {
            id: "id".into(),
            ip: u32::from_le_bytes([10, 0, 0, 5]),
            port: 5050,
            pid: None,
            hostname: None,
            version: Some("1.11.0".into()),
            address: Some(Address {
                hostname: None,
                ip: Some("10.0.0.5".into()),
                port: 5050,
            }),
        };
        let data = member_data(&info).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "id", "ip": 83_886_090, "port": 5050, "version": "1.11.0",
                "address": {"ip": "10.0.0.5", "port": 5050}
            })
        );
        assert_eq!(
            group::member_pid(&data).unwrap().to_string(),
            "master@10.0.0.5:5050"
        );
    }

    #[test]
    fn a_master_info_naming_no_master_is_refused() {
        let info = MasterInfo {
            id: "id".into(),
            port: 5050,
            ..MasterInfo::default()
        };
        assert!(matches!(
            member_data(&info),
            Err(ContenderError::MasterInfo(_))
        ));
    }
}

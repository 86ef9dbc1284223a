//! Masters elect their leader in ZooKeeper, as Mesos's do: each master (contender)
//! holds an EPHEMERAL_SEQUENTIAL node `<path>/json.info_<seq>` whose data is its
//! `MasterInfo` as JSON, and the member with the lowest sequence leads. Detectors
//! (agents, scheduler drivers) watch the children of `<path>` and read the leader's
//! data.
//!
//! Both sides read the group the same way ([`group`]): members whose data does not
//! decode are skipped with a warning, so a contender is elected exactly when
//! detectors name it. Sessions ([`session`]) are kept as Mesos's `zookeeper::Group`
//! keeps them: a disconnection is survived, but being disconnected for a whole
//! session timeout counts as losing the session, since the server will have expired
//! it by then.
//!
//! Layout: `url` (the `zk://` parser), `session` (connecting with backoff, session
//! events), `group` (members, the leader, `MasterInfo` decoding), `detector`
//! ([`ZooKeeperMasterDetector`]), `contender` ([`MasterContender`]), and `testing`
//! (real ZooKeeper servers for tests, feature `testing`).

mod contender;
mod detector;
mod group;
mod session;
#[cfg(feature = "testing")]
pub mod testing;
mod url;

pub use contender::{Candidacy, ContenderError, Leadership, LossReason, MasterContender};
pub use detector::ZooKeeperMasterDetector;
pub use session::{connect, is_retryable, DEFAULT_SESSION_TIMEOUT};
pub use url::{ZooKeeperCredentials, ZooKeeperServer, ZooKeeperUrl, ZooKeeperUrlError, SCHEME};

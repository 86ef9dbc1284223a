//! One ZooKeeper session, kept as Mesos's `zookeeper::Group` keeps it.
//!
//! The client library reconnects within a session by itself; what it cannot know is
//! when an unreachable server has expired the session. Mesos answers that by treating
//! a disconnection that lasts a whole session timeout as the end of the session, and
//! so does [`Session::event`]: a master must not keep leading on a session the
//! ensemble may already have ended.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::time::Instant;
use zookeeper_client as zk;

use super::ZooKeeperUrl;

/// Mesos's default `--zk_session_timeout`.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// The first wait between failed attempts; it doubles up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(250);

/// Mesos's group retries every 2 seconds; waits never grow beyond that.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Doubling waits between retries, capped at [`MAX_BACKOFF`].
#[derive(Debug)]
pub(crate) struct Backoff(Duration);

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff(INITIAL_BACKOFF)
    }

    /// The wait to use now; the next one is twice as long.
    pub(crate) fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        wait
    }
}

/// What it takes to open sessions to one ensemble.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    url: ZooKeeperUrl,
    session_timeout: Duration,
}

impl Connector {
    pub(crate) fn new(url: ZooKeeperUrl, session_timeout: Duration) -> Self {
        Connector {
            url,
            session_timeout,
        }
    }

    pub(crate) fn url(&self) -> &ZooKeeperUrl {
        &self.url
    }

    /// Opens a session, retrying with backoff for as long as it takes: an ensemble
    /// that is down at start is waited for, as Mesos waits for it.
    pub(crate) async fn connect(&self) -> Session {
        let mut backoff = Backoff::new();
        loop {
            match self.try_connect().await {
                Ok(client) => {
                    tracing::info!(
                        zk = %self.url,
                        session = %client.session_id(),
                        timeout = ?client.session_timeout(),
                        "ZooKeeper session established"
                    );
                    return Session::new(client);
                }
                Err(error) => {
                    let wait = backoff.next();
                    tracing::warn!(
                        zk = %self.url,
                        %error,
                        retry_in = ?wait,
                        "Failed to connect to ZooKeeper"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn try_connect(&self) -> Result<zk::Client, zk::Error> {
        connect(&self.url, self.session_timeout).await
    }
}

/// Opens one ZooKeeper session to `url`'s ensemble (its credentials added), failing
/// at once when no server answers.
///
/// The session's own task (its heartbeats, its socket) runs on this process's
/// ZooKeeper thread, not on the caller's runtime: a master busy with thousands of
/// agents must not starve its heartbeats into a session expiry, which would cost it
/// its leadership. Mesos's C client keeps its I/O on a thread of its own too. The
/// returned client may be used from any runtime.
pub async fn connect(
    url: &ZooKeeperUrl,
    session_timeout: Duration,
) -> Result<zk::Client, zk::Error> {
    let mut connector = zk::Client::connector()
        .with_session_timeout(session_timeout)
        .with_fail_eagerly();
    if let Some(credentials) = &url.credentials {
        let auth = format!("{}:{}", credentials.username, credentials.password);
        connector = connector.with_auth("digest", auth.as_bytes());
    }
    let servers = url.connect_string();
    let thread = zookeeper_thread().map_err(|error| zk::Error::UnexpectedError(error.clone()))?;
    thread
        .spawn(async move { connector.connect(&servers).await })
        .await
        .unwrap_or_else(|error| {
            Err(zk::Error::UnexpectedError(format!(
                "the ZooKeeper thread dropped the connection attempt: {error}"
            )))
        })
}

/// The runtime of the thread every ZooKeeper session of this process lives on,
/// started at the first connection and kept for the life of the process; or why the
/// OS refused it.
fn zookeeper_thread() -> Result<&'static tokio::runtime::Handle, &'static String> {
    static THREAD: OnceLock<Result<tokio::runtime::Handle, String>> = OnceLock::new();
    THREAD
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| format!("could not build the ZooKeeper runtime: {error}"))?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name("zookeeper".into())
                .spawn(move || runtime.block_on(std::future::pending::<()>()))
                .map_err(|error| format!("could not start the ZooKeeper thread: {error}"))?;
            Ok(handle)
        })
        .as_ref()
}

/// Why a session is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionLoss {
    /// The ensemble expired it.
    Expired,
    /// Disconnected for a whole session timeout: the ensemble has expired it, or will.
    Disconnected,
    /// Authentication failed or the client was closed.
    Closed,
}

/// What [`Session::event`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionEvent {
    /// Connected again after a disconnection: watches may have missed changes, so
    /// readers read again.
    Reconnected,
    /// The session is over; a new one is needed.
    Lost(SessionLoss),
}

/// An established session and the state of its connection.
#[derive(Debug)]
pub(crate) struct Session {
    client: zk::Client,
    states: zk::StateWatcher,
    /// When the connection was seen lost, if it has not come back since. Kept here,
    /// not in `event`, so that dropping an `event` future does not restart the clock.
    disconnected_at: Option<Instant>,
}

impl Session {
    fn new(client: zk::Client) -> Self {
        let states = client.state_watcher();
        Session {
            client,
            states,
            disconnected_at: None,
        }
    }

    pub(crate) fn client(&self) -> &zk::Client {
        &self.client
    }

    /// Waits for the next event that matters to readers of the group. Cancel-safe.
    pub(crate) async fn event(&mut self) -> SessionEvent {
        let session = self.client.session_id();
        loop {
            match self.states.state() {
                zk::SessionState::Disconnected => {
                    let since = *self.disconnected_at.get_or_insert_with(|| {
                        tracing::warn!(%session, "Disconnected from ZooKeeper");
                        Instant::now()
                    });
                    let deadline = since + self.client.session_timeout();
                    if tokio::time::timeout_at(deadline, self.states.changed())
                        .await
                        .is_err()
                    {
                        tracing::warn!(
                            %session,
                            timeout = ?self.client.session_timeout(),
                            "Disconnected from ZooKeeper for a whole session timeout: the session is lost"
                        );
                        return SessionEvent::Lost(SessionLoss::Disconnected);
                    }
                }
                zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly => {
                    if self.disconnected_at.take().is_some() {
                        tracing::info!(%session, "Reconnected to ZooKeeper");
                        return SessionEvent::Reconnected;
                    }
                    self.states.changed().await;
                }
                zk::SessionState::Expired => {
                    tracing::warn!(%session, "ZooKeeper session expired");
                    return SessionEvent::Lost(SessionLoss::Expired);
                }
                state @ (zk::SessionState::AuthFailed | zk::SessionState::Closed) => {
                    tracing::warn!(%session, %state, "ZooKeeper session closed");
                    return SessionEvent::Lost(SessionLoss::Closed);
                }
            }
        }
    }
}

/// Whether an operation that failed with `error` may succeed later, on this session
/// or a new one: the connection or the session failed (the client's own errors,
/// such as "no response from connection", included), rather than the server
/// answering no.
pub fn is_retryable(error: &zk::Error) -> bool {
    matches!(
        error,
        zk::Error::ConnectionLoss
            | zk::Error::SessionExpired
            | zk::Error::SessionMoved
            | zk::Error::Timeout
            | zk::Error::NoHosts
            | zk::Error::ClientClosed
            | zk::Error::Throttled
            | zk::Error::Custom(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut backoff = Backoff::new();
        let waits: Vec<Duration> = (0..6).map(|_| backoff.next()).collect();
        assert_eq!(waits[0], INITIAL_BACKOFF);
        assert_eq!(waits[1], INITIAL_BACKOFF * 2);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().unwrap(), MAX_BACKOFF);
    }
}

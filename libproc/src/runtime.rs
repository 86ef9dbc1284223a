//! The runtime: one per OS process, as libprocess has one. It owns the worker threads,
//! the listening socket (messages and HTTP on one port), the process registry, the
//! connections to other runtimes and the timer service.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;

use crate::clock::Timers;
use crate::codec;
use crate::context::RemoteConnection;
use crate::event::{Body, Raw};
use crate::manager::Entry;
use crate::message::Message;
use crate::metrics;
use crate::pid::{Pid, ProcessId};
use crate::transport::frame;
use crate::transport::listener;
use crate::transport::socket_manager::{Outbox, SocketManager};

/// How a runtime binds, advertises itself and bounds what peers may send.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on (`LIBPROCESS_IP`, `LIBPROCESS_PORT`; port 0 picks one).
    pub bind: SocketAddr,
    /// The IP put in this runtime's pids, when it differs from the bound one
    /// (`LIBPROCESS_ADVERTISE_IP`), e.g. behind NAT.
    pub advertise_ip: Option<IpAddr>,
    /// The port put in this runtime's pids (`LIBPROCESS_ADVERTISE_PORT`).
    pub advertise_port: Option<u16>,
    /// Worker threads (`LIBPROCESS_NUM_WORKER_THREADS`); the number of cores if unset.
    pub worker_threads: Option<usize>,
    /// The largest frame payload accepted from a peer; a larger one closes the connection.
    pub max_frame_size: usize,
    /// The largest HTTP request body accepted; a larger one is answered 413.
    pub max_http_body_size: usize,
    /// The most inbound connections served at once; further ones wait to be accepted.
    pub max_connections: usize,
    /// How long connecting to a peer may take before its links get `exited`.
    pub connect_timeout: Duration,
    /// The process that serves HTTP paths whose first segment names no process
    /// (`/state` on an agent is `/slave(1)/state`), as libprocess's delegate.
    pub delegate: Option<ProcessId>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            advertise_ip: None,
            advertise_port: None,
            worker_threads: None,
            max_frame_size: frame::DEFAULT_MAX_FRAME_SIZE,
            max_http_body_size: 16 * 1024 * 1024,
            max_connections: 65_536,
            connect_timeout: Duration::from_secs(10),
            delegate: None,
        }
    }
}

/// A `LIBPROCESS_*` variable that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {variable}='{value}' is invalid: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Config {
    /// The default configuration, overridden by `LIBPROCESS_IP`, `LIBPROCESS_PORT`,
    /// `LIBPROCESS_ADVERTISE_IP`, `LIBPROCESS_ADVERTISE_PORT` and
    /// `LIBPROCESS_NUM_WORKER_THREADS` where they are set.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// As `from_env`, reading variables through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(ip) = parse_var(&var, "LIBPROCESS_IP")? {
            config.bind.set_ip(ip);
        }
        if let Some(port) = parse_var(&var, "LIBPROCESS_PORT")? {
            config.bind.set_port(port);
        }
        config.advertise_ip = parse_var(&var, "LIBPROCESS_ADVERTISE_IP")?;
        config.advertise_port = parse_var(&var, "LIBPROCESS_ADVERTISE_PORT")?;
        config.worker_threads = parse_var(&var, "LIBPROCESS_NUM_WORKER_THREADS")?;
        if config.worker_threads == Some(0) {
            return Err(ConfigError {
                variable: "LIBPROCESS_NUM_WORKER_THREADS",
                value: "0".into(),
                reason: "at least one worker thread is needed".into(),
            });
        }
        Ok(config)
    }
}

fn parse_var<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: fmt::Display,
{
    var(variable)
        .map(|value| {
            value.trim().parse().map_err(|e: T::Err| ConfigError {
                variable,
                reason: e.to_string(),
                value,
            })
        })
        .transpose()
}

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The runtime already runs in this OS process, at this address.
    #[error("the runtime is already started at {0}")]
    AlreadyStarted(SocketAddr),
    /// The listening socket could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The worker threads could not be created.
    #[error("could not start the worker threads: {0}")]
    Threads(std::io::Error),
    /// A `LIBPROCESS_*` variable is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The runtime's entry points. There is one runtime per OS process.
#[derive(Debug, Clone, Copy)]
pub struct Runtime;

static NODE: OnceLock<Node> = OnceLock::new();
static STARTING: Mutex<()> = Mutex::new(());

impl Runtime {
    /// Starts the runtime: worker threads, the listener for messages and HTTP, the
    /// timer service and the metrics registry. Returns the advertised address, the
    /// one in every pid of this runtime.
    pub fn start(config: Config) -> Result<SocketAddr, StartError> {
        let _starting = STARTING
            .lock()
            .expect("the start lock is never poisoned: start does not panic");
        if let Some(node) = NODE.get() {
            return Err(StartError::AlreadyStarted(node.address));
        }
        let node = Node::start(config)?;
        let address = node.address;
        let node = NODE.get_or_init(|| node);
        node.runtime
            .spawn(listener::accept_loop(node, node.take_listener()));
        tracing::info!(%address, "Runtime started");
        Ok(address)
    }

    /// The advertised address, once started.
    pub fn address() -> Option<SocketAddr> {
        NODE.get().map(|node| node.address)
    }

    /// Runs a future to completion on the runtime's threads, from synchronous code
    /// (a `main`, a test). Starts the runtime from the environment if needed.
    ///
    /// # Panics
    /// When called from inside an async context, or when the runtime cannot start.
    pub fn block_on<F: Future>(future: F) -> F::Output {
        let node = node_or_start().expect("libproc runtime could not start from the environment");
        node.runtime.block_on(future)
    }

    /// The tokio handle of the runtime's worker threads, once started.
    pub fn handle() -> Option<tokio::runtime::Handle> {
        NODE.get().map(|node| node.runtime.handle().clone())
    }
}

pub(crate) fn try_node() -> Option<&'static Node> {
    NODE.get()
}

pub(crate) fn node_or_start() -> Result<&'static Node, StartError> {
    if let Some(node) = NODE.get() {
        return Ok(node);
    }
    match Runtime::start(Config::from_env()?) {
        Ok(_) | Err(StartError::AlreadyStarted(_)) => {
            Ok(NODE.get().expect("the runtime is set once start returned"))
        }
        Err(e) => Err(e),
    }
}

/// The runtime's state.
pub(crate) struct Node {
    address: SocketAddr,
    runtime: tokio::runtime::Runtime,
    listener: Mutex<Option<tokio::net::TcpListener>>,
    processes: DashMap<ProcessId, Arc<Entry>>,
    sockets: SocketManager,
    config: Config,
}

impl Node {
    fn start(config: Config) -> Result<Node, StartError> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(threads) = config.worker_threads {
            builder.worker_threads(threads);
        }
        let runtime = builder
            .enable_all()
            .thread_name("libproc-worker")
            .build()
            .map_err(StartError::Threads)?;
        let bind_error = |source| StartError::Bind {
            addr: config.bind,
            source,
        };
        let listener = StdListener::bind(config.bind).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(bind_error)?
        };
        let ip = config
            .advertise_ip
            .unwrap_or_else(|| advertised_ip(bound.ip()));
        let address = SocketAddr::new(ip, config.advertise_port.unwrap_or(bound.port()));
        metrics::install();
        Timers::get_or_start(runtime.handle());
        Ok(Node {
            address,
            listener: Mutex::new(Some(listener)),
            runtime,
            processes: DashMap::new(),
            sockets: SocketManager::default(),
            config,
        })
    }

    fn take_listener(&self) -> tokio::net::TcpListener {
        self.listener
            .lock()
            .expect("the listener lock is never poisoned")
            .take()
            .expect("the listener is taken once, at start")
    }

    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.handle()
    }

    pub(crate) fn sockets(&self) -> &SocketManager {
        &self.sockets
    }

    /// Adds a process; false when its id is taken.
    pub(crate) fn register(&self, entry: Arc<Entry>) -> bool {
        match self.processes.entry(entry.pid().id.clone()) {
            dashmap::Entry::Occupied(_) => false,
            dashmap::Entry::Vacant(slot) => {
                slot.insert(entry);
                true
            }
        }
    }

    pub(crate) fn unregister(&self, entry: &Arc<Entry>) {
        self.processes
            .remove_if(&entry.pid().id, |_, current| Arc::ptr_eq(current, entry));
    }

    /// The process behind a pid of this runtime.
    pub(crate) fn entry(&self, pid: &Pid) -> Option<Arc<Entry>> {
        if pid.addr != self.address {
            return None;
        }
        self.entry_by_id(pid.id.as_str())
    }

    pub(crate) fn entry_by_id(&self, id: &str) -> Option<Arc<Entry>> {
        self.processes.get(id).map(|entry| entry.value().clone())
    }

    /// Every process with its queue length, for `/__processes__` and `settle`.
    pub(crate) fn processes(&self) -> Vec<(Pid, usize)> {
        self.processes
            .iter()
            .map(|entry| (entry.pid().clone(), entry.queue_length()))
            .collect()
    }

    /// Delivers an event to a process of this runtime; false when it is not running.
    pub(crate) fn deliver(&self, to: &Pid, event: Raw) -> bool {
        self.entry(to).is_some_and(|entry| entry.deliver(event))
    }

    /// Sends a message. A remote one goes into `outbox` when the sender has one (a
    /// process, which flushes it after its current events), else to the socket now.
    pub(crate) fn send<M: Message>(
        &'static self,
        from: &Pid,
        to: &Pid,
        message: M,
        outbox: Option<&mut Outbox>,
    ) {
        if to.addr == self.address {
            let event = Raw::Message {
                from: from.clone(),
                name: Cow::Borrowed(M::NAME),
                body: Body::Local(Box::new(message)),
            };
            if !self.deliver(to, event) {
                tracing::debug!(%from, %to, name = M::NAME, "Dropping message to a process that is not running");
                metrics::message_dropped();
            }
            return;
        }
        let frame = frame::encode(from, &to.id, M::NAME, |out| {
            codec::encode_into(M::NAME, &message, out)
        });
        match frame {
            Ok(frame) => self.send_frame(from, to, M::NAME, frame, outbox),
            Err(error) => {
                tracing::warn!(%from, %to, %error, "Dropping message that does not encode")
            }
        }
    }

    fn send_frame(
        &'static self,
        from: &Pid,
        to: &Pid,
        name: &str,
        frame: Bytes,
        outbox: Option<&mut Outbox>,
    ) {
        #[cfg(feature = "testing")]
        if crate::testing::intercept_outgoing(from, to, name, &frame) {
            return;
        }
        #[cfg(not(feature = "testing"))]
        let _ = (from, name);
        metrics::message_sent();
        match outbox {
            Some(outbox) => outbox.push(to.addr, frame),
            None => self.sockets.send(self, to.addr, frame),
        }
    }

    pub(crate) fn link(&'static self, linker: &Pid, to: &Pid, connection: RemoteConnection) {
        if to.addr != self.address {
            self.sockets.link(self, linker, to, connection);
            return;
        }
        let linked = self.entry(to).is_some_and(|entry| entry.add_linker(linker));
        if !linked {
            self.deliver(linker, Raw::Exited(to.clone()));
        }
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("address", &self.address)
            .field("processes", &self.processes.len())
            .finish()
    }
}

/// The IP to advertise for a bound one: itself, unless it is the wildcard, in which case
/// the host name's address, as libprocess does.
fn advertised_ip(bound: IpAddr) -> IpAddr {
    if !bound.is_unspecified() {
        return bound;
    }
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    (hostname.trim(), 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find(|a| a.is_ipv4()))
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// Waits until no process of this runtime has an event queued or running.
#[cfg(feature = "testing")]
pub(crate) async fn settle() {
    let Some(node) = try_node() else {
        return;
    };
    // Two idle readings in a row, a scheduling round apart, so that an event queued by
    // the last handler is seen.
    let mut idle_readings = 0;
    while idle_readings < 2 {
        let idle = node.processes().iter().all(|(_, queued)| *queued == 0);
        idle_readings = if idle { idle_readings + 1 } else { 0 };
        tokio::task::yield_now().await;
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_the_libprocess_variables() {
        let config = Config::from_vars(vars(&[
            ("LIBPROCESS_IP", "10.1.2.3"),
            ("LIBPROCESS_PORT", "5050"),
            ("LIBPROCESS_ADVERTISE_IP", "192.0.2.7"),
            ("LIBPROCESS_ADVERTISE_PORT", "15050"),
            ("LIBPROCESS_NUM_WORKER_THREADS", "4"),
        ]))
        .unwrap();
        assert_eq!(config.bind, "10.1.2.3:5050".parse().unwrap());
        assert_eq!(config.advertise_ip, Some("192.0.2.7".parse().unwrap()));
        assert_eq!(config.advertise_port, Some(15050));
        assert_eq!(config.worker_threads, Some(4));
    }

    #[test]
    fn defaults_to_loopback_and_any_port() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(config.bind, "127.0.0.1:0".parse().unwrap());
        assert_eq!(config.advertise_ip, None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("LIBPROCESS_IP", "not-an-ip"),
            ("LIBPROCESS_PORT", "70000"),
            ("LIBPROCESS_ADVERTISE_PORT", "-1"),
            ("LIBPROCESS_NUM_WORKER_THREADS", "0"),
        ] {
            let error = Config::from_vars(vars(&[(name, value)])).unwrap_err();
            assert_eq!(error.variable, name);
            assert_eq!(error.value, value);
        }
    }

    #[test]
    fn a_bound_ip_is_advertised_as_is() {
        let ip: IpAddr = "10.9.8.7".parse().unwrap();
        assert_eq!(advertised_ip(ip), ip);
    }
}

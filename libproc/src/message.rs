//! Typed messages: what a process sends and installs handlers for.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A message that processes exchange, named on the wire by `NAME`.
///
/// `NAME` is what routes a message to its handler, locally and remotely, so it must be
/// unique among the messages a process installs. Mesos messages use their fully
/// qualified protobuf names (`mesos.internal.RegisterSlaveMessage`).
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Serialize, Deserialize)]
/// struct Ping {
///     sequence: u64,
/// }
///
/// impl libproc::Message for Ping {
///     const NAME: &'static str = "example.Ping";
/// }
/// ```
pub trait Message: Serialize + DeserializeOwned + Send + 'static {
    /// The wire name of the message.
    const NAME: &'static str;
}

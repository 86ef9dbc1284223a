//! Messages between runtimes: the wire format, one outbound connection per peer runtime
//! with the links that watch it, and the listener that serves frames and HTTP on one
//! port.

pub mod frame;
pub(crate) mod listener;
pub(crate) mod socket_manager;

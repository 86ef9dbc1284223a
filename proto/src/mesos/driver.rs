//! The state of a scheduler or executor driver (Mesos `Status` in `mesos.proto`),
//! which every driver call returns.

/// A driver's state, with Mesos's names and meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum Status {
    /// `start` has not been called.
    DRIVER_NOT_STARTED,
    /// Started, and neither stopped nor aborted.
    DRIVER_RUNNING,
    /// Aborted: by its user, or by the driver on an unrecoverable error.
    DRIVER_ABORTED,
    /// Stopped by its user.
    DRIVER_STOPPED,
}

//! What an executor links: the `Executor` trait and `MesosExecutorDriver`, and the command executor.
//!
//! The crate is laid out in `ARCHITECTURE.md`; its behaviour is built by the issue that owns it.

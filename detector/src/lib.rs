//! Master detection (`MasterDetector`) and contention (`MasterContender`), standalone or through ZooKeeper's `json.info_` group layout.
//!
//! The crate is laid out in `ARCHITECTURE.md`; its behaviour is built by the issue that owns it.

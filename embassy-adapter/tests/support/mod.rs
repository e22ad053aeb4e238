//! The in-process network the tests run on.

pub mod bridge;
pub mod device;
pub mod link;
pub mod world;

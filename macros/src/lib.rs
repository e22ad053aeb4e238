//! `pyro5-macros`: procedural macros for pyro5-rs.
//!
//! **Nothing is implemented yet.** This crate will provide `#[expose]`, which turns an
//! ordinary `impl` block into a Pyro object (dispatch by method name and Pyro's metadata:
//! methods, oneway methods, attributes) without an allocator. It arrives together with the
//! server state machine in `pyro5-core`; until then the crate exports nothing.
//!
//! ```
//! // Nothing to import yet: the crate compiles and is empty on purpose.
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

//! `pyro5-macros`: procedural macros for pyro5-rs.
//!
//! **Nothing is implemented yet.** This crate will provide `#[expose]`, which turns an
//! ordinary `impl` block into a Pyro object (dispatch by method name and Pyro's metadata:
//! methods, oneway methods, attributes) without an allocator. It arrives together with the
//! server state machine in `pyro5-core`; until then the crate exports nothing.
//!
//! ```
//! // The crate exports nothing yet; depending on it is harmless.
//! extern crate pyro5_macros;
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

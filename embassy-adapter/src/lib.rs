//! `pyro5-embassy`: Pyro5 over embassy-net, for microcontrollers.
//!
//! **Nothing is implemented yet.** This crate will run `pyro5-core`'s server and client
//! state machines over `embassy_net::tcp::TcpSocket`s with buffers from static storage, no
//! allocator. What exists today is the core's wire layer, usable from any executor:
//!
//! ```
//! use pyro5_embassy::core::wire::{Header, HEADER_LEN};
//! let frame = include_bytes!("../../../shared/vectors/messages/header_only_ping.bin");
//! let header = Header::parse_bytes(frame[..HEADER_LEN].try_into().unwrap()).unwrap();
//! assert_eq!(header.seq, 0);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The protocol core this adapter drives.
pub use pyro5_core as core;

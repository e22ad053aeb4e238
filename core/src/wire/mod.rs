//! The wire layer: how Pyro5 frames messages on a byte stream (`docs/wire-protocol.md`,
//! "Frames" to "Checking a received header").
//!
//! A message is a 40-byte [`Header`], `annotations_len` bytes of annotation chunks and
//! `data_len` bytes of payload. This module reads and writes exactly that and nothing of what
//! the payload means. Its guarantees:
//! - no accessor panics once a view is checked, whatever the bytes;
//! - every size announced by a peer is checked against [`Limits`](crate::limits::Limits) and
//!   the caller's storage before anything it announces is buffered;
//! - nothing allocates unless the `alloc` feature is on and a payload is compressed.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod annotations;
pub mod compression;
mod decoder;
pub(crate) mod encoder;
pub(crate) mod frame;
pub mod header;
mod storage;
mod stream_id;

#[cfg(feature = "alloc")]
pub use storage::RETAINED_CAPACITY;

pub use annotations::{Annotation, AnnotationError, AnnotationId, AnnotationsIter, AnnotationsView};
pub use compression::{CompressionError, ZlibFault};
pub use decoder::{DecodeError, Decoder, Message, Progress};
pub use encoder::{EncodeError, MessageWriter, OutgoingMessage, WriteError, encode, write_message};
pub use header::{
    CorrelationId, Flags, HEADER_LEN, Header, HeaderError, HeaderView, MAGIC, MessageKind, PING_SERIALIZER_ID,
    PROTOCOL_VERSION, SerializerId,
};
pub use storage::RxStorage;
pub(crate) use storage::{ReadsInPlace, Tail};
pub use stream_id::StreamId;

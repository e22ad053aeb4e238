//! The incremental decoder: bytes in any chunking in, whole messages out as borrowed views.
//!
//! The decoder checks what it can as soon as it can, in Pyro5's order (`docs/wire-protocol.md`,
//! "Checking a received header"): the tag after 4 bytes, the version after 6, the magic after
//! 40, then the announced size against [`Limits::max_message_size`] and against the storage,
//! *before* any byte of the body is buffered. The annotations are validated when the message is
//! complete, and a compressed payload is inflated then (feature `alloc`).
//!
//! # Driving it
//! ```
//! # use pyro5_core::{limits::Limits, wire::{Decoder, Progress}};
//! # fn handle(_: pyro5_core::wire::Message<'_>) {}
//! # let mut storage = [0u8; 1024];
//! let mut decoder = Decoder::new(&mut storage[..], Limits::default());
//! # let received: &[u8] = include_bytes!("../../../testdata/messages/ping_request.bin");
//! let mut input = received; // what one socket read returned
//! while !input.is_empty() {
//!     match decoder.feed(input)? {
//!         Progress::NeedMore => break, // everything was consumed
//!         Progress::Complete { consumed } => {
//!             handle(decoder.message().unwrap());
//!             input = &input[consumed..]; // more messages may follow in the same read
//!         }
//!     }
//! }
//! # Ok::<(), pyro5_core::wire::DecodeError>(())
//! ```
//! After an error the byte stream is out of step: close the connection (a daemon answers a
//! bad first message with CONNECTFAIL first, see [`DecodeError::pyro_message`]).

use core::fmt;

use super::annotations::{AnnotationError, AnnotationId, AnnotationsIter, AnnotationsView};
use super::compression::CompressionError;
use super::header::{Flags, HEADER_LEN, Header, HeaderError, check_prefix};
use super::storage::RxStorage;
use crate::limits::Limits;

/// How far ahead of the received bytes growable storage is grown.
const GROW_STEP: usize = 64 * 1024;

/// What a call to [`Decoder::feed`] or [`Decoder::commit`] achieved.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Progress {
    /// The input was consumed entirely and the message is not complete yet.
    NeedMore,
    /// A message is complete and available from [`Decoder::message`]; `consumed` bytes of
    /// the input were used, the rest belongs to the following message(s).
    Complete {
        /// Bytes of the input that were used.
        consumed: usize,
    },
}

/// Reassembles messages from a byte stream into caller-owned storage.
#[derive(Debug)]
pub struct Decoder<S> {
    storage: S,
    limits: Limits,
    /// Bytes of the current message in `storage`: `0 <= filled <= wanted()`.
    filled: usize,
    /// The parsed header, once all 40 bytes arrived and passed the checks.
    header: Option<Header>,
    /// Whether `storage[..filled]` holds a whole, validated message.
    complete: bool,
    /// The inflated payload of a complete compressed message.
    #[cfg(feature = "alloc")]
    inflated: Option<alloc::vec::Vec<u8>>,
}

impl<S: RxStorage> Decoder<S> {
    /// A decoder that buffers into `storage` and enforces `limits`.
    pub fn new(storage: S, limits: Limits) -> Self {
        Self {
            storage,
            limits,
            filled: 0,
            header: None,
            complete: false,
            #[cfg(feature = "alloc")]
            inflated: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The largest `data_size + annotations_size` accepted: the configured limit, or less
    /// when the storage is smaller.
    pub fn max_body_len(&self) -> u64 {
        let by_storage = self.storage.max_len().saturating_sub(HEADER_LEN) as u64;
        by_storage.min(u64::from(self.limits.max_message_size))
    }

    /// Copy bytes from `input` into the current message.
    ///
    /// Consumes at most up to the end of the current message; when it completes, the
    /// message is available from [`message`](Self::message) until the next call to `feed`,
    /// [`read_buf`](Self::read_buf) or [`consume`](Self::consume).
    ///
    /// # Errors
    /// Any [`DecodeError`]; the connection must then be closed.
    pub fn feed(&mut self, input: &[u8]) -> Result<Progress, DecodeError> {
        let buf = self.read_buf()?;
        let n = buf.len().min(input.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), input.get(..n)) {
            dst.copy_from_slice(src);
        }
        match self.commit(n)? {
            Progress::Complete { .. } => Ok(Progress::Complete { consumed: n }),
            Progress::NeedMore if n < input.len() => self.feed_rest(n, input),
            Progress::NeedMore => Ok(Progress::NeedMore),
        }
    }

    /// The header is complete and the body is wanted now: feed on from `used`.
    fn feed_rest(&mut self, used: usize, input: &[u8]) -> Result<Progress, DecodeError> {
        let rest = input.get(used..).unwrap_or_default();
        match self.feed(rest)? {
            Progress::Complete { consumed } => Ok(Progress::Complete { consumed: used + consumed }),
            Progress::NeedMore => Ok(Progress::NeedMore),
        }
    }

    /// Where the next bytes of the current message go, for reading from a socket in place.
    /// The slice is never longer than what the message still needs (at first, its header),
    /// so one read never takes bytes of the next message. Follow with [`commit`](Self::commit).
    ///
    /// A complete message still held is dropped first.
    ///
    /// # Errors
    /// [`DecodeError::TooLarge`] if the storage cannot grow to the announced size.
    pub fn read_buf(&mut self) -> Result<&mut [u8], DecodeError> {
        if self.complete {
            self.consume();
        }
        let wanted = self.wanted();
        let filled = self.filled;
        let too_large = self.too_large(wanted.saturating_sub(HEADER_LEN) as u64);
        if self.storage.max_len() < wanted {
            return Err(too_large);
        }
        // Growable storage grows with the bytes that actually arrive (doubling, from 64 KiB),
        // not to what a header announces: a peer announcing a huge message and sending
        // nothing costs nothing.
        let step = wanted.min(filled.saturating_add(filled.max(GROW_STEP)));
        let storage = self.storage.reserve(step).ok_or(too_large)?;
        Ok(storage.get_mut(filled..step).unwrap_or_default())
    }

    /// Record that `n` bytes were written at the start of [`read_buf`](Self::read_buf)'s
    /// slice, and check what can be checked now.
    ///
    /// # Errors
    /// Any [`DecodeError`]; the connection must then be closed.
    ///
    /// # Panics
    /// If `n` is longer than the slice `read_buf` returned (a bug in the caller).
    pub fn commit(&mut self, n: usize) -> Result<Progress, DecodeError> {
        let wanted = self.wanted();
        assert!(!self.complete && n <= wanted - self.filled, "Decoder::commit({n}) beyond the message");
        self.filled += n;
        if self.header.is_none() {
            let head = self.storage.bytes().get(..self.filled).unwrap_or_default();
            if let Err(e) = check_prefix(head) {
                self.reset();
                return Err(e.into());
            }
            if self.filled == HEADER_LEN {
                if let Err(e) = self.parse_header() {
                    self.reset();
                    return Err(e);
                }
            }
        }
        if self.header.is_some() && self.filled == self.wanted() {
            if let Err(e) = self.finish() {
                self.reset();
                return Err(e);
            }
            self.complete = true;
            return Ok(Progress::Complete { consumed: n });
        }
        Ok(Progress::NeedMore)
    }

    /// The complete message, if the last `feed`/`commit` completed one.
    pub fn message(&self) -> Option<Message<'_>> {
        if !self.complete {
            return None;
        }
        let header = self.header?;
        let frame = self.storage.bytes().get(..self.filled)?;
        let body = frame.get(HEADER_LEN..)?;
        let (annotations, raw_payload) = body.split_at_checked(header.annotations_len as usize)?;
        let annotations = AnnotationsView::new_checked(annotations).ok()?;
        #[cfg(feature = "alloc")]
        let inflated = self.inflated.as_deref();
        #[cfg(not(feature = "alloc"))]
        let inflated: Option<&[u8]> = None;
        let mut header = header;
        if let Some(inflated) = inflated {
            // As Pyro5 does: the flag is cleared and the size is the inflated one.
            header.flags = header.flags.without(Flags::COMPRESSED);
            header.data_len = u32::try_from(inflated.len()).unwrap_or(u32::MAX);
        }
        Some(Message { header, frame, annotations, raw_payload, inflated, limits: self.limits })
    }

    /// Drop the complete message (if any) and start on the next one.
    pub fn consume(&mut self) {
        self.reset();
        self.storage.release();
    }

    /// Whether a message is partly received (a close now would cut it off).
    pub fn is_mid_message(&self) -> bool {
        !self.complete && self.filled > 0
    }

    /// Give the storage back.
    pub fn into_storage(self) -> S {
        self.storage
    }

    fn reset(&mut self) {
        self.filled = 0;
        self.header = None;
        self.complete = false;
        #[cfg(feature = "alloc")]
        {
            self.inflated = None;
        }
    }

    /// Total length of the current message as far as known.
    fn wanted(&self) -> usize {
        match self.header {
            // The body length was checked against the storage: it fits in usize.
            Some(h) => HEADER_LEN.saturating_add(usize::try_from(h.body_len()).unwrap_or(usize::MAX)),
            None => HEADER_LEN,
        }
    }

    fn too_large(&self, size: u64) -> DecodeError {
        DecodeError::TooLarge {
            size,
            max: self.max_body_len(),
            limited_by_storage: self.max_body_len() < u64::from(self.limits.max_message_size),
        }
    }

    fn parse_header(&mut self) -> Result<(), DecodeError> {
        let bytes = self.storage.bytes().first_chunk::<HEADER_LEN>().ok_or(DecodeError::Internal)?;
        let header = Header::parse_bytes(bytes)?;
        if header.body_len() > self.max_body_len() {
            trace!("refusing a message announcing {} bytes", header.body_len());
            return Err(self.too_large(header.body_len()));
        }
        self.header = Some(header);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), DecodeError> {
        let header = self.header.ok_or(DecodeError::Internal)?;
        let frame = self.storage.bytes().get(..self.filled).ok_or(DecodeError::Internal)?;
        let body = frame.get(HEADER_LEN..).ok_or(DecodeError::Internal)?;
        let (annotations, _payload) =
            body.split_at_checked(header.annotations_len as usize).ok_or(DecodeError::Internal)?;
        AnnotationsView::new_checked(annotations)?;
        #[cfg(feature = "alloc")]
        if header.flags.contains(Flags::COMPRESSED) {
            let max = usize::try_from(self.limits.max_message_size).unwrap_or(usize::MAX);
            self.inflated = Some(super::compression::inflate(_payload, max)?);
        }
        Ok(())
    }
}

/// A complete message, borrowed from the decoder's storage.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    header: Header,
    frame: &'a [u8],
    annotations: AnnotationsView<'a>,
    raw_payload: &'a [u8],
    inflated: Option<&'a [u8]>,
    /// The limits of the decoder that received it.
    limits: Limits,
}

impl<'a> Message<'a> {
    /// The header. For an inflated payload, as Pyro5 reports it: the COMPRESSED flag cleared
    /// and `data_len` the inflated length.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The annotation chunks in wire order.
    pub fn annotations(&self) -> AnnotationsIter<'a> {
        self.annotations.iter()
    }

    /// The annotations as a view (lookups by id).
    pub fn annotations_view(&self) -> AnnotationsView<'a> {
        self.annotations
    }

    /// The value of annotation `id` (the last one, if repeated).
    pub fn annotation(&self, id: AnnotationId) -> Option<&'a [u8]> {
        self.annotations.get(id)
    }

    /// The payload, inflated if it was compressed.
    ///
    /// # Errors
    /// [`DecodeError::Compression`] with [`CompressionError::Unsupported`] when the payload is
    /// compressed and this build has no `alloc` feature.
    pub fn payload(&self) -> Result<&'a [u8], DecodeError> {
        match self.inflated {
            Some(inflated) => Ok(inflated),
            None if self.header.flags.contains(Flags::COMPRESSED) => {
                Err(DecodeError::Compression(CompressionError::Unsupported))
            }
            None => Ok(self.raw_payload),
        }
    }

    /// The payload as it was sent (still compressed if it was).
    pub fn raw_payload(&self) -> &'a [u8] {
        self.raw_payload
    }

    /// The whole message as received: header, annotations and payload.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.frame
    }

    /// The limits of the [`Decoder`] that received it, which reading its payload keeps to
    /// ([`Limits::max_nesting`]; a proxy reads replies within them).
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

/// Why a received message was refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DecodeError {
    /// The header was malformed.
    Header(HeaderError),
    /// The header announces a body larger than allowed; nothing of it was buffered.
    TooLarge {
        /// `data_size + annotations_size` as announced.
        size: u64,
        /// The effective limit.
        max: u64,
        /// Whether the receive storage, rather than `Limits::max_message_size`, set `max`.
        limited_by_storage: bool,
    },
    /// The annotation chunks were malformed.
    Annotations(AnnotationError),
    /// A compressed payload could not be inflated.
    Compression(CompressionError),
    /// An inconsistency inside the decoder; report it as a bug.
    Internal,
}

impl DecodeError {
    /// The Python exception class Pyro5 raises for this fault.
    pub fn pyro_class(&self) -> &'static str {
        match self {
            Self::Compression(CompressionError::Corrupt(_)) => "zlib.error",
            Self::Compression(_) | Self::Internal => "Pyro5.errors.PyroError",
            _ => "Pyro5.errors.ProtocolError",
        }
    }

    /// The text Pyro5 uses for the same fault, e.g. `message too large (1073741825,
    /// max=1073741824)`: what a daemon puts in a CONNECTFAIL.
    pub fn pyro_message(&self) -> impl fmt::Display + '_ {
        PyroText(self)
    }
}

struct PyroText<'a>(&'a DecodeError);

impl fmt::Display for PyroText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            DecodeError::Header(e) => fmt::Display::fmt(&e.pyro_message(), f),
            DecodeError::TooLarge { size, max, .. } => write!(f, "message too large ({size}, max={max})"),
            DecodeError::Annotations(e) => f.write_str(e.pyro_message()),
            DecodeError::Compression(CompressionError::Corrupt(fault)) => f.write_str(fault.python_text()),
            DecodeError::Compression(e) => fmt::Display::fmt(e, f),
            DecodeError::Internal => f.write_str("internal decoder error"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(e) => write!(f, "bad message header: {e}"),
            Self::TooLarge { size, max, limited_by_storage: false } => write!(
                f,
                "message too large: {size} bytes of annotations and payload exceed max_message_size ({max}); raise Limits::max_message_size"
            ),
            Self::TooLarge { size, max, limited_by_storage: true } => write!(
                f,
                "message too large: {size} bytes of annotations and payload do not fit the {max} bytes the receive storage has room for; give the decoder more storage"
            ),
            Self::Annotations(e) => write!(f, "bad annotations: {e}"),
            Self::Compression(e) => fmt::Display::fmt(e, f),
            Self::Internal => f.write_str("internal decoder inconsistency (a bug in pyro5-core)"),
        }
    }
}

impl core::error::Error for DecodeError {}

impl From<HeaderError> for DecodeError {
    fn from(e: HeaderError) -> Self {
        Self::Header(e)
    }
}

impl From<AnnotationError> for DecodeError {
    fn from(e: AnnotationError) -> Self {
        Self::Annotations(e)
    }
}

impl From<CompressionError> for DecodeError {
    fn from(e: CompressionError) -> Self {
        Self::Compression(e)
    }
}

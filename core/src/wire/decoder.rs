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
    /// Bytes received into `storage`: the current message's, and with read-ahead possibly
    /// the start of the next.
    filled: usize,
    /// Where the slice [`read_buf`](Self::read_buf) handed out ends.
    offered: usize,
    /// How many bytes past the current message a read may take (0: none).
    read_ahead: usize,
    /// An error found in bytes read ahead, reported by the next `read_buf`/`commit`.
    deferred: Option<DecodeError>,
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
            offered: 0,
            read_ahead: 0,
            deferred: None,
            header: None,
            complete: false,
            #[cfg(feature = "alloc")]
            inflated: None,
        }
    }

    /// Let each read take up to `bytes` past the current message (within the storage): a
    /// message and the start of the next (or several small ones) arrive in one read instead
    /// of a read for each header and each body. The bytes past a message are kept for the
    /// next one; after [`consume`](Self::consume) the next message may be complete at once
    /// ([`message`](Self::message)), without a read.
    #[must_use]
    pub fn with_read_ahead(mut self, bytes: usize) -> Self {
        self.read_ahead = bytes;
        self
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
    /// Without [read-ahead](Self::with_read_ahead) the slice is never longer than what the
    /// message still needs (at first, its header), so one read never takes bytes of the next
    /// message. Follow with [`commit`](Self::commit).
    ///
    /// A complete message still held is dropped first.
    ///
    /// # Errors
    /// [`DecodeError::TooLarge`] if the storage cannot grow to the announced size.
    pub fn read_buf(&mut self) -> Result<&mut [u8], DecodeError> {
        if self.complete {
            self.consume();
            if self.complete {
                // Read ahead: the next message is complete already.
                self.offered = self.filled;
                return Ok(&mut []);
            }
        }
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let wanted = self.wanted();
        let filled = self.filled;
        let too_large = self.too_large(wanted.saturating_sub(HEADER_LEN) as u64);
        let max_len = self.storage.max_len();
        if max_len < wanted {
            return Err(too_large);
        }
        // Growable storage grows with the bytes that actually arrive (doubling, from 64 KiB),
        // not to what a header announces: a peer announcing a huge message and sending
        // nothing costs nothing.
        let mut step = wanted.min(filled.saturating_add(filled.max(GROW_STEP)));
        if self.read_ahead > 0 {
            step = step.max(filled.saturating_add(self.read_ahead).min(max_len));
        }
        let storage = self.storage.reserve(step).ok_or(too_large)?;
        self.offered = step;
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
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        if self.complete && n == 0 {
            return Ok(Progress::Complete { consumed: 0 });
        }
        assert!(
            !self.complete && n <= self.offered.saturating_sub(self.filled),
            "Decoder::commit({n}) beyond the slice read_buf gave"
        );
        self.filled += n;
        self.process(n)
    }

    /// Check what the bytes received so far allow; `n` were just added.
    fn process(&mut self, n: usize) -> Result<Progress, DecodeError> {
        if self.header.is_none() {
            let head = self.storage.bytes().get(..self.filled.min(HEADER_LEN)).unwrap_or_default();
            if let Err(e) = check_prefix(head) {
                self.reset();
                return Err(e.into());
            }
            if self.filled >= HEADER_LEN {
                if let Err(e) = self.parse_header() {
                    self.reset();
                    return Err(e);
                }
            }
        }
        if self.header.is_some() && self.filled >= self.wanted() {
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
        let frame = self.storage.bytes().get(..self.wanted())?;
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

    /// Drop the complete message (if any) and start on the next one. With read-ahead, the
    /// next one may be complete at once ([`message`](Self::message)); an error in its bytes
    /// is reported by the next [`read_buf`](Self::read_buf) or [`commit`](Self::commit).
    pub fn consume(&mut self) {
        if let Err(e) = self.consume_next() {
            self.deferred = Some(e);
        }
    }

    /// Drop the complete message (if any) and check the bytes already read past it: whether
    /// they complete the next message.
    ///
    /// # Errors
    /// Any [`DecodeError`] in the bytes read ahead; the connection must then be closed.
    pub fn consume_next(&mut self) -> Result<Progress, DecodeError> {
        let extra = if self.complete { self.filled.saturating_sub(self.wanted()) } else { 0 };
        let start = self.filled - extra;
        self.reset();
        if extra > 0
            && let Some(storage) = self.storage.reserve(start + extra)
        {
            storage.copy_within(start..start + extra, 0);
        }
        self.storage.release();
        if extra == 0 {
            return Ok(Progress::NeedMore);
        }
        self.filled = extra;
        self.offered = extra;
        self.process(0)
    }

    /// Whether a message is partly received (a close now would cut it off).
    pub fn is_mid_message(&self) -> bool {
        !self.complete && self.filled > 0
    }

    /// Whether bytes past the complete message were read ahead (more requests pipelined).
    pub fn has_more(&self) -> bool {
        self.complete && self.filled > self.wanted()
    }

    /// Give the storage back.
    pub fn into_storage(self) -> S {
        self.storage
    }

    fn reset(&mut self) {
        self.filled = 0;
        self.offered = 0;
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
        let frame = self.storage.bytes().get(..self.wanted()).ok_or(DecodeError::Internal)?;
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

#[cfg(test)]
mod read_ahead_tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;
    use crate::wire::{MessageKind, OutgoingMessage, SerializerId, encode};

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (seq, payload) in payloads.iter().enumerate() {
            let mut buf = [0u8; 256];
            let msg = OutgoingMessage::new(MessageKind::Invoke, SerializerId::Json, seq as u16);
            let len = encode(&msg, payload, &mut buf, Limits::default()).unwrap();
            out.extend_from_slice(&buf[..len]);
        }
        out
    }

    /// Read `input` in reads of at most `chunk` bytes; the payloads of the messages, in order.
    fn read_all(decoder: &mut Decoder<&mut [u8]>, mut input: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        loop {
            while let Some(m) = decoder.message() {
                got.push(m.payload().unwrap().to_vec());
                decoder.consume_next().unwrap();
            }
            if input.is_empty() {
                return got;
            }
            let buf = decoder.read_buf().unwrap();
            let n = buf.len().min(input.len()).min(chunk);
            buf[..n].copy_from_slice(&input[..n]);
            input = &input[n..];
            decoder.commit(n).unwrap();
        }
    }

    #[test]
    fn pipelined_messages_arrive_in_one_read_and_come_out_one_by_one() {
        let input = frames(&[b"\"a\"", b"\"bb\"", b"[1, 2, 3]", b"{}"]);
        for chunk in [1, 7, 40, 41, 100, 4096] {
            let mut storage = [0u8; 512];
            let mut decoder = Decoder::new(&mut storage[..], Limits::default()).with_read_ahead(256);
            let got = read_all(&mut decoder, &input, chunk);
            assert_eq!(got, [&b"\"a\""[..], b"\"bb\"", b"[1, 2, 3]", b"{}"], "reads of {chunk}");
        }
        // One read takes all four (the storage allows it).
        let mut storage = [0u8; 512];
        let mut decoder = Decoder::new(&mut storage[..], Limits::default()).with_read_ahead(256);
        assert!(decoder.read_buf().unwrap().len() >= input.len());
    }

    #[test]
    fn without_read_ahead_a_read_never_passes_the_message() {
        let input = frames(&[b"1", b"2"]);
        let mut storage = [0u8; 512];
        let mut decoder = Decoder::new(&mut storage[..], Limits::default());
        assert_eq!(decoder.read_buf().unwrap().len(), HEADER_LEN);
        assert_eq!(read_all(&mut decoder, &input, 4096), [b"1", b"2"]);
    }

    #[test]
    fn garbage_read_ahead_is_reported_after_the_good_message() {
        let mut input = frames(&[b"1"]);
        input.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let mut storage = [0u8; 512];
        let mut decoder = Decoder::new(&mut storage[..], Limits::default()).with_read_ahead(256);
        let buf = decoder.read_buf().unwrap();
        buf[..input.len()].copy_from_slice(&input);
        assert!(matches!(decoder.commit(input.len()).unwrap(), Progress::Complete { .. }));
        assert!(decoder.has_more());
        assert_eq!(decoder.message().unwrap().payload().unwrap(), b"1");
        assert!(matches!(decoder.consume_next(), Err(DecodeError::Header(_))));
        // Through consume(): the error comes with the next read_buf.
        let mut storage = [0u8; 512];
        let mut decoder = Decoder::new(&mut storage[..], Limits::default()).with_read_ahead(256);
        decoder.read_buf().unwrap()[..input.len()].copy_from_slice(&input);
        decoder.commit(input.len()).unwrap();
        decoder.consume();
        assert!(decoder.read_buf().is_err());
    }

    #[test]
    fn read_ahead_stays_within_fixed_storage() {
        let input = frames(&[b"\"0123456789\"", b"\"x\""]);
        let mut storage = [0u8; 64];
        let mut decoder = Decoder::new(&mut storage[..], Limits::default()).with_read_ahead(1024);
        assert_eq!(decoder.read_buf().unwrap().len(), 64);
        assert_eq!(read_all(&mut decoder, &input, 4096), [&b"\"0123456789\""[..], b"\"x\""]);
    }
}

//! Writing messages: header + annotation chunks + payload (`docs/wire-protocol.md`, "Frames"
//! and "Annotations").
//!
//! [`MessageWriter`] lays a message out in a caller buffer and lets the payload be
//! serialized straight into place; [`encode`] does the same for a payload already in hand;
//! [`write_message`] streams one into an [`embedded_io::Write`]. All three follow Pyro5's
//! sender: a COMPRESSED flag given by the caller is cleared, the payload is compressed when
//! asked and longer than 100 bytes, the size is checked against the limit after compression,
//! and a correlation id sets the CORR_ID flag.

use core::fmt;

use super::annotations::{self, Annotation, AnnotationError};
use super::compression::{CompressionError, should_compress};
use super::header::{CorrelationId, Flags, HEADER_LEN, Header, MessageKind, SerializerId};
use crate::limits::Limits;

/// Everything about a message to send except its payload.
#[doc(alias = "SendingMessage")]
#[derive(Clone, Copy, Debug)]
pub struct OutgoingMessage<'a> {
    /// The message type.
    pub kind: MessageKind,
    /// The serializer of the payload.
    pub serializer: SerializerId,
    /// Flags; COMPRESSED and CORR_ID are managed by the encoder.
    pub flags: Flags,
    /// Sequence number.
    pub seq: u16,
    /// A correlation id to send (sets CORR_ID), or none (all-zero bytes).
    pub correlation_id: Option<CorrelationId>,
    /// Annotations, in the order they go on the wire.
    pub annotations: &'a [Annotation<'a>],
    /// Compress a payload over 100 bytes (Pyro's `COMPRESSION`; needs feature `alloc`).
    pub compress: bool,
}

impl<'a> OutgoingMessage<'a> {
    /// A message of `kind` with no flags, annotations, correlation id or compression.
    pub const fn new(kind: MessageKind, serializer: SerializerId, seq: u16) -> Self {
        Self { kind, serializer, flags: Flags::empty(), seq, correlation_id: None, annotations: &[], compress: false }
    }

    /// The message that re-sends a received header as it was, for relays and tests.
    /// Annotations and the payload are given separately.
    pub fn from_header(header: &Header, annotations: &'a [Annotation<'a>]) -> Self {
        Self {
            kind: header.kind,
            serializer: header.serializer,
            flags: header.flags,
            seq: header.seq,
            correlation_id: header.flags.contains(Flags::CORR_ID).then_some(header.correlation_id),
            annotations,
            compress: false,
        }
    }

    pub(crate) fn header(&self, data_len: u32, annotations_len: u32, compressed: bool) -> Header {
        let mut flags = self.flags.without(Flags::COMPRESSED);
        flags.set(Flags::COMPRESSED, compressed);
        if self.correlation_id.is_some() {
            flags |= Flags::CORR_ID;
        }
        Header {
            kind: self.kind,
            serializer: self.serializer,
            flags,
            seq: self.seq,
            data_len,
            annotations_len,
            correlation_id: self.correlation_id.unwrap_or(CorrelationId::NONE),
            reserved: 0,
        }
    }
}

/// Lays out one message in a caller buffer; the payload is written in place.
///
/// ```
/// # use pyro5_core::{limits::Limits, wire::*};
/// let mut out = [0u8; 128];
/// let msg = OutgoingMessage::new(MessageKind::Ping, SerializerId::Unknown(PING_SERIALIZER_ID), 0);
/// let mut writer = MessageWriter::new(&mut out, &msg, Limits::default())?;
/// writer.payload_buf()[..4].copy_from_slice(b"ping");
/// let len = writer.finish(4)?;
/// let recorded = include_bytes!("../../../testdata/messages/ping_request.bin");
/// assert_eq!(&out[..len], &recorded[..]);
/// # Ok::<(), EncodeError>(())
/// ```
#[derive(Debug)]
pub struct MessageWriter<'o, 'm> {
    out: &'o mut [u8],
    message: &'m OutgoingMessage<'m>,
    limits: Limits,
    /// Where the payload starts: `HEADER_LEN + annotations_len <= out.len()`.
    payload_at: usize,
    annotations_len: u32,
}

impl<'o, 'm> MessageWriter<'o, 'm> {
    /// Start a message in `out`: the annotation chunks are written now, the header when the
    /// payload length is known.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] or [`EncodeError::Annotations`].
    pub fn new(out: &'o mut [u8], message: &'m OutgoingMessage<'m>, limits: Limits) -> Result<Self, EncodeError> {
        let annotations_len = annotations::encoded_len(message.annotations)?;
        let payload_at = HEADER_LEN + annotations_len as usize;
        let region = out.get_mut(HEADER_LEN..).ok_or(EncodeError::BufferTooSmall { required: payload_at })?;
        annotations::write(message.annotations, region).map_err(|e| match e {
            AnnotationError::BufferTooSmall { .. } => EncodeError::BufferTooSmall { required: payload_at },
            other => EncodeError::Annotations(other),
        })?;
        Ok(Self { out, message, limits, payload_at, annotations_len })
    }

    /// The space for the payload: everything after the annotations.
    pub fn payload_buf(&mut self) -> &mut [u8] {
        self.out.get_mut(self.payload_at..).unwrap_or_default()
    }

    /// Write the header for a payload of `payload_len` bytes at the start of
    /// [`payload_buf`](Self::payload_buf), compressing it first if the message asks for it.
    /// Returns the length of the whole message.
    ///
    /// # Errors
    /// [`EncodeError::TooLarge`] over the size limit, [`EncodeError::BufferTooSmall`],
    /// [`EncodeError::Compression`] when compression is asked for without feature `alloc`.
    pub fn finish(self, payload_len: usize) -> Result<usize, EncodeError> {
        let payload_end = self
            .payload_at
            .checked_add(payload_len)
            .filter(|end| *end <= self.out.len())
            .ok_or(EncodeError::BufferTooSmall { required: self.payload_at.saturating_add(payload_len) })?;
        let mut data_len = payload_len;
        let compressed = self.message.compress && should_compress(payload_len);
        if compressed {
            data_len = compress_in_place(self.out, self.payload_at, payload_end)?;
        }
        let header = self.message.header(
            check_size(data_len, self.annotations_len, self.limits)?,
            self.annotations_len,
            compressed,
        );
        let head =
            self.out.first_chunk_mut::<HEADER_LEN>().ok_or(EncodeError::BufferTooSmall { required: HEADER_LEN })?;
        header.emit(head);
        Ok(self.payload_at + data_len)
    }
}

#[cfg(feature = "alloc")]
pub(crate) fn compress_in_place(out: &mut [u8], start: usize, end: usize) -> Result<usize, EncodeError> {
    let payload = out.get(start..end).ok_or(EncodeError::BufferTooSmall { required: end })?;
    let compressed = super::compression::deflate(payload);
    let required = start.saturating_add(compressed.len());
    let dst = out.get_mut(start..required).ok_or(EncodeError::BufferTooSmall { required })?;
    dst.copy_from_slice(&compressed);
    Ok(compressed.len())
}

#[cfg(not(feature = "alloc"))]
pub(crate) fn compress_in_place(_: &mut [u8], _: usize, _: usize) -> Result<usize, EncodeError> {
    Err(EncodeError::Compression(CompressionError::Unsupported))
}

/// The data length as a header field, once `data + annotations` is checked against the limit.
pub(crate) fn check_size(data_len: usize, annotations_len: u32, limits: Limits) -> Result<u32, EncodeError> {
    let size = (data_len as u64).saturating_add(u64::from(annotations_len));
    let max = u64::from(limits.max_message_size);
    if size > max {
        return Err(EncodeError::TooLarge { size, max });
    }
    u32::try_from(data_len).map_err(|_| EncodeError::TooLarge { size, max })
}

/// Write a whole message with `payload` into `out`; returns its length.
///
/// # Errors
/// As [`MessageWriter::finish`].
pub fn encode(
    message: &OutgoingMessage<'_>,
    payload: &[u8],
    out: &mut [u8],
    limits: Limits,
) -> Result<usize, EncodeError> {
    let mut writer = MessageWriter::new(out, message, limits)?;
    let required = writer.payload_at.saturating_add(payload.len());
    writer
        .payload_buf()
        .get_mut(..payload.len())
        .ok_or(EncodeError::BufferTooSmall { required })?
        .copy_from_slice(payload);
    writer.finish(payload.len())
}

/// Write a whole message with `payload` to `w`, without an intermediate buffer (except for
/// the compressed payload, when compression applies).
///
/// # Errors
/// [`WriteError::Encode`] as [`encode`], [`WriteError::Io`] from the writer.
pub fn write_message<W: embedded_io::Write>(
    w: &mut W,
    message: &OutgoingMessage<'_>,
    payload: &[u8],
    limits: Limits,
) -> Result<(), WriteError<W::Error>> {
    let annotations_len = annotations::encoded_len(message.annotations).map_err(EncodeError::from)?;
    let compressed = message.compress && should_compress(payload.len());
    #[cfg(feature = "alloc")]
    let owned;
    let payload = if compressed {
        #[cfg(feature = "alloc")]
        {
            owned = super::compression::deflate(payload);
            &owned[..]
        }
        #[cfg(not(feature = "alloc"))]
        return Err(EncodeError::Compression(CompressionError::Unsupported).into());
    } else {
        payload
    };
    let data_len = check_size(payload.len(), annotations_len, limits)?;
    let mut head = [0u8; HEADER_LEN];
    message.header(data_len, annotations_len, compressed).emit(&mut head);
    w.write_all(&head).map_err(WriteError::Io)?;
    for a in message.annotations {
        let chunk = annotations::chunk_header(a).map_err(EncodeError::from)?;
        w.write_all(&chunk).map_err(WriteError::Io)?;
        w.write_all(a.value).map_err(WriteError::Io)?;
    }
    w.write_all(payload).map_err(WriteError::Io)
}

/// Why a message could not be written.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed for the whole message.
        required: usize,
    },
    /// Payload and annotations exceed the size limit (after compression).
    TooLarge {
        /// `data_size + annotations_size`.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// An annotation could not be written.
    Annotations(AnnotationError),
    /// Compression was asked for but is not available.
    Compression(CompressionError),
    /// An annotation was added after the payload had started.
    AnnotationsClosed,
}

impl EncodeError {
    /// The text Pyro5 uses for the same fault, e.g. `message too large (101, max=100)`.
    pub fn pyro_message(&self) -> impl fmt::Display + '_ {
        PyroText(self)
    }
}

struct PyroText<'a>(&'a EncodeError);

impl fmt::Display for PyroText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            EncodeError::TooLarge { size, max } => write!(f, "message too large ({size}, max={max})"),
            other => fmt::Display::fmt(other, f),
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall { required } => {
                write!(f, "output buffer too small: the message needs {required} bytes")
            }
            Self::TooLarge { size, max } => write!(
                f,
                "message too large: {size} bytes of annotations and payload exceed max_message_size ({max}); raise Limits::max_message_size"
            ),
            Self::Annotations(e) => write!(f, "bad annotation: {e}"),
            Self::Compression(e) => fmt::Display::fmt(e, f),
            Self::AnnotationsClosed => f.write_str("annotations must be added before the payload is written"),
        }
    }
}

impl core::error::Error for EncodeError {}

impl From<AnnotationError> for EncodeError {
    fn from(e: AnnotationError) -> Self {
        Self::Annotations(e)
    }
}

/// Why [`write_message`] failed.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum WriteError<E> {
    /// The message itself could not be encoded.
    Encode(EncodeError),
    /// The writer failed.
    Io(E),
}

impl<E> From<EncodeError> for WriteError<E> {
    fn from(e: EncodeError) -> Self {
        Self::Encode(e)
    }
}

impl<E: fmt::Debug> fmt::Display for WriteError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encode(e) => fmt::Display::fmt(e, f),
            Self::Io(e) => write!(f, "writing the message failed: {e:?}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for WriteError<E> {}

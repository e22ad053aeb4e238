//! The 40-byte message header (`docs/wire-protocol.md`, "Frames").
//!
//! [`HeaderView`] reads fields in place from a fixed-size array and cannot panic;
//! [`Header`] is the validated, owned form, with [`Header::parse`] and [`Header::emit`].

use core::fmt;

/// Length of the header in bytes.
pub const HEADER_LEN: usize = 40;
/// The tag every message starts with.
pub const TAG: [u8; 4] = *b"PYRO";
/// The protocol version this crate speaks (Pyro5).
pub const PROTOCOL_VERSION: u16 = 502;
/// The magic number closing every header.
pub const MAGIC: u16 = 0x4dc5;
/// How many leading bytes are enough to check the tag and the protocol version.
pub const PREFIX_LEN: usize = 6;

/// The 40-byte header, read in place. No accessor panics.
#[derive(Clone, Copy, Debug)]
pub struct HeaderView<'a>(&'a [u8; HEADER_LEN]);

impl<'a> HeaderView<'a> {
    /// Wrap 40 header bytes.
    pub fn new(bytes: &'a [u8; HEADER_LEN]) -> Self {
        Self(bytes)
    }

    /// Bytes 0..4, `PYRO` in a valid header.
    pub fn tag(&self) -> [u8; 4] {
        self.fields().tag
    }
    /// Protocol version (offset 0x04).
    pub fn version(&self) -> u16 {
        u16::from_be_bytes(self.fields().version)
    }
    /// Message type byte (offset 0x06).
    pub fn kind(&self) -> u8 {
        self.fields().kind
    }
    /// Serializer id byte (offset 0x07).
    pub fn serializer(&self) -> u8 {
        self.fields().serializer
    }
    /// Flag bits (offset 0x08).
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes(self.fields().flags)
    }
    /// Sequence number (offset 0x0a).
    pub fn seq(&self) -> u16 {
        u16::from_be_bytes(self.fields().seq)
    }
    /// Payload length as sent, i.e. compressed length if compressed (offset 0x0c).
    pub fn data_len(&self) -> u32 {
        u32::from_be_bytes(self.fields().data_len)
    }
    /// Total length of all annotation chunks, chunk headers included (offset 0x10).
    pub fn annotations_len(&self) -> u32 {
        u32::from_be_bytes(self.fields().annotations_len)
    }
    /// The 16 correlation id bytes (offset 0x14).
    pub fn correlation_id(&self) -> [u8; 16] {
        self.fields().correlation_id
    }
    /// The reserved field (offset 0x24); Pyro5 writes 0 and never checks it.
    pub fn reserved(&self) -> u16 {
        u16::from_be_bytes(self.fields().reserved)
    }
    /// The magic number (offset 0x26), [`MAGIC`] in a valid header.
    pub fn magic(&self) -> u16 {
        u16::from_be_bytes(self.fields().magic)
    }

    /// Split the array into its fields; the layout is checked by the compiler.
    fn fields(&self) -> RawFields {
        let [
            t0,
            t1,
            t2,
            t3,
            v0,
            v1,
            kind,
            serializer,
            f0,
            f1,
            q0,
            q1,
            d0,
            d1,
            d2,
            d3,
            a0,
            a1,
            a2,
            a3,
            correlation_id @ ..,
            r0,
            r1,
            m0,
            m1,
        ] = *self.0;
        RawFields {
            tag: [t0, t1, t2, t3],
            version: [v0, v1],
            kind,
            serializer,
            flags: [f0, f1],
            seq: [q0, q1],
            data_len: [d0, d1, d2, d3],
            annotations_len: [a0, a1, a2, a3],
            correlation_id,
            reserved: [r0, r1],
            magic: [m0, m1],
        }
    }
}

/// The header's fields as raw big-endian bytes.
struct RawFields {
    tag: [u8; 4],
    version: [u8; 2],
    kind: u8,
    serializer: u8,
    flags: [u8; 2],
    seq: [u8; 2],
    data_len: [u8; 4],
    annotations_len: [u8; 4],
    correlation_id: [u8; 16],
    reserved: [u8; 2],
    magic: [u8; 2],
}

/// A validated header: tag, version and magic were right.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// The message type.
    pub kind: MessageKind,
    /// Which serializer the payload is in.
    pub serializer: SerializerId,
    /// Flag bits, unknown ones kept.
    pub flags: Flags,
    /// Sequence number pairing a request with its reply.
    pub seq: u16,
    /// Payload length as sent (compressed length when [`Flags::COMPRESSED`] is set).
    pub data_len: u32,
    /// Total length of the annotation chunks.
    pub annotations_len: u32,
    /// Correlation id; meaningful when [`Flags::CORR_ID`] is set, all zero otherwise.
    pub correlation_id: CorrelationId,
    /// The reserved field, kept so a header re-emits byte for byte. Pyro5 writes 0.
    pub reserved: u16,
}

impl Header {
    /// A header for a message with no payload, annotations, flags or correlation id.
    pub const fn new(kind: MessageKind, serializer: SerializerId, seq: u16) -> Self {
        Self {
            kind,
            serializer,
            flags: Flags::empty(),
            seq,
            data_len: 0,
            annotations_len: 0,
            correlation_id: CorrelationId::NONE,
            reserved: 0,
        }
    }

    /// Validate tag, version and magic, in Pyro5's order, and read every field.
    ///
    /// # Errors
    /// [`HeaderError::BadTag`], [`HeaderError::BadVersion`] or [`HeaderError::BadMagic`].
    pub fn parse(view: &HeaderView<'_>) -> Result<Self, HeaderError> {
        check_prefix(view.0)?;
        if view.magic() != MAGIC {
            return Err(HeaderError::BadMagic(view.magic()));
        }
        Ok(Self {
            kind: MessageKind::from(view.kind()),
            serializer: SerializerId::from(view.serializer()),
            flags: Flags::from_bits(view.flags()),
            seq: view.seq(),
            data_len: view.data_len(),
            annotations_len: view.annotations_len(),
            correlation_id: CorrelationId(view.correlation_id()),
            reserved: view.reserved(),
        })
    }

    /// Parse 40 bytes; a shortcut for [`Header::parse`] over a [`HeaderView`].
    ///
    /// # Errors
    /// As [`Header::parse`].
    pub fn parse_bytes(bytes: &[u8; HEADER_LEN]) -> Result<Self, HeaderError> {
        Self::parse(&HeaderView::new(bytes))
    }

    /// Write the header. Infallible: the size is in the type.
    pub fn emit(&self, out: &mut [u8; HEADER_LEN]) {
        let mut w = Cursor { out, at: 0 };
        w.put(&TAG);
        w.put(&PROTOCOL_VERSION.to_be_bytes());
        w.put(&[u8::from(self.kind), u8::from(self.serializer)]);
        w.put(&self.flags.bits().to_be_bytes());
        w.put(&self.seq.to_be_bytes());
        w.put(&self.data_len.to_be_bytes());
        w.put(&self.annotations_len.to_be_bytes());
        w.put(&self.correlation_id.0);
        w.put(&self.reserved.to_be_bytes());
        w.put(&MAGIC.to_be_bytes());
    }

    /// `data_len + annotations_len`: what Pyro compares with `MAX_MESSAGE_SIZE`.
    pub fn body_len(&self) -> u64 {
        u64::from(self.data_len) + u64::from(self.annotations_len)
    }
}

/// Check the first bytes of a message as Pyro5 does before reading the rest of the header:
/// the tag once 4 bytes are there, the version once 6 are. Fewer bytes are not an error.
///
/// # Errors
/// [`HeaderError::BadTag`] or [`HeaderError::BadVersion`].
pub fn check_prefix(bytes: &[u8]) -> Result<(), HeaderError> {
    if let [a, b, c, d, rest @ ..] = bytes {
        let tag = [*a, *b, *c, *d];
        if tag != TAG {
            return Err(HeaderError::BadTag(tag));
        }
        if let [hi, lo, ..] = rest {
            let version = u16::from_be_bytes([*hi, *lo]);
            if version != PROTOCOL_VERSION {
                return Err(HeaderError::BadVersion(version));
            }
        }
    }
    Ok(())
}

struct Cursor<'a> {
    out: &'a mut [u8; HEADER_LEN],
    at: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) {
        for (slot, byte) in self.out.iter_mut().skip(self.at).zip(bytes) {
            *slot = *byte;
        }
        self.at += bytes.len();
    }
}

/// The message type byte (`docs/wire-protocol.md`, "Message types"). Values Pyro5 does not
/// define are kept, because what to answer to them depends on the connection's state.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MessageKind {
    /// 1: first message from a client, with handshake data.
    #[doc(alias = "MSG_CONNECT")]
    Connect,
    /// 2: the daemon accepted the connection.
    #[doc(alias = "MSG_CONNECTOK")]
    ConnectOk,
    /// 3: the daemon refused the connection.
    #[doc(alias = "MSG_CONNECTFAIL")]
    ConnectFail,
    /// 4: a method call.
    #[doc(alias = "MSG_INVOKE")]
    Invoke,
    /// 5: the reply to a call.
    #[doc(alias = "MSG_RESULT")]
    Result,
    /// 6: a ping, or its echo.
    #[doc(alias = "MSG_PING")]
    Ping,
    /// A value Pyro5 does not define.
    Unknown(u8),
}

impl From<u8> for MessageKind {
    fn from(value: u8) -> Self {
        match value {
            1 => Self::Connect,
            2 => Self::ConnectOk,
            3 => Self::ConnectFail,
            4 => Self::Invoke,
            5 => Self::Result,
            6 => Self::Ping,
            other => Self::Unknown(other),
        }
    }
}

impl From<MessageKind> for u8 {
    fn from(kind: MessageKind) -> u8 {
        match kind {
            MessageKind::Connect => 1,
            MessageKind::ConnectOk => 2,
            MessageKind::ConnectFail => 3,
            MessageKind::Invoke => 4,
            MessageKind::Result => 5,
            MessageKind::Ping => 6,
            MessageKind::Unknown(other) => other,
        }
    }
}

/// The serializer id byte (`docs/wire-protocol.md`, "Serializer ids").
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SerializerId {
    /// 1: serpent, Python literal syntax; Pyro's default.
    Serpent,
    /// 2: CPython marshal, version 4.
    Marshal,
    /// 3: UTF-8 JSON.
    Json,
    /// 4: msgpack.
    Msgpack,
    /// Any other value, e.g. [`PING_SERIALIZER_ID`] on pings.
    Unknown(u8),
}

/// The serializer id Pyro5 writes on PING messages; their payload is never deserialized.
pub const PING_SERIALIZER_ID: u8 = 42;

impl SerializerId {
    /// The name Pyro's `SERIALIZER` setting uses, or `None` for an unknown id.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::Serpent => Some("serpent"),
            Self::Marshal => Some("marshal"),
            Self::Json => Some("json"),
            Self::Msgpack => Some("msgpack"),
            Self::Unknown(_) => None,
        }
    }

    /// Whether this build reads and writes the serializer: its cargo feature of pyro5-core
    /// (`serpent`, `marshal`, `json`, `msgpack`) is on. `false` for an unknown id.
    ///
    /// A daemon treats a message in a serializer left out like one in an unknown serializer,
    /// except that it answers a CONNECT in one with CONNECTFAIL (in marshal, which Pyro
    /// clients always read) naming the serializers it has; a client refuses to write one
    /// ([`FormatError::UnknownSerializer`](crate::ser::FormatError::UnknownSerializer)).
    pub const fn is_enabled(self) -> bool {
        match self {
            Self::Serpent => cfg!(feature = "serpent"),
            Self::Marshal => cfg!(feature = "marshal"),
            Self::Json => cfg!(feature = "json"),
            Self::Msgpack => cfg!(feature = "msgpack"),
            Self::Unknown(_) => false,
        }
    }
}

impl From<u8> for SerializerId {
    fn from(value: u8) -> Self {
        match value {
            1 => Self::Serpent,
            2 => Self::Marshal,
            3 => Self::Json,
            4 => Self::Msgpack,
            other => Self::Unknown(other),
        }
    }
}

impl From<SerializerId> for u8 {
    fn from(id: SerializerId) -> u8 {
        match id {
            SerializerId::Serpent => 1,
            SerializerId::Marshal => 2,
            SerializerId::Json => 3,
            SerializerId::Msgpack => 4,
            SerializerId::Unknown(other) => other,
        }
    }
}

/// Message flag bits (`docs/wire-protocol.md`, "Flags"). Unknown bits are kept as they came.
#[derive(Clone, Copy, Default, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Flags(u16);

impl Flags {
    /// The payload is a serialized exception.
    #[doc(alias = "FLAGS_EXCEPTION")]
    pub const EXCEPTION: Flags = Flags(0x0001);
    /// The payload is zlib-compressed.
    #[doc(alias = "FLAGS_COMPRESSED")]
    pub const COMPRESSED: Flags = Flags(0x0002);
    /// No reply will be sent.
    #[doc(alias = "FLAGS_ONEWAY")]
    pub const ONEWAY: Flags = Flags(0x0004);
    /// A batch of calls, or the list of their results.
    #[doc(alias = "FLAGS_BATCH")]
    pub const BATCH: Flags = Flags(0x0008);
    /// The result is a remote iterator; its id is in the `STRM` annotation.
    #[doc(alias = "FLAGS_ITEMSTREAMRESULT")]
    pub const ITEM_STREAM_RESULT: Flags = Flags(0x0010);
    /// A call whose payload the daemon passes on still serialized (`BLBI` annotation).
    #[doc(alias = "FLAGS_KEEPSERIALIZED")]
    pub const KEEP_SERIALIZED: Flags = Flags(0x0020);
    /// The header carries a correlation id.
    #[doc(alias = "FLAGS_CORR_ID")]
    pub const CORR_ID: Flags = Flags(0x0040);

    const NAMES: [(Flags, &'static str); 7] = [
        (Self::EXCEPTION, "EXCEPTION"),
        (Self::COMPRESSED, "COMPRESSED"),
        (Self::ONEWAY, "ONEWAY"),
        (Self::BATCH, "BATCH"),
        (Self::ITEM_STREAM_RESULT, "ITEMSTREAMRESULT"),
        (Self::KEEP_SERIALIZED, "KEEPSERIALIZED"),
        (Self::CORR_ID, "CORR_ID"),
    ];

    /// No flags.
    pub const fn empty() -> Self {
        Flags(0)
    }
    /// Flags from raw bits, unknown bits included.
    pub const fn from_bits(bits: u16) -> Self {
        Flags(bits)
    }
    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }
    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// These flags with `other`'s bits added.
    pub const fn with(self, other: Flags) -> Self {
        Flags(self.0 | other.0)
    }
    /// These flags with `other`'s bits removed.
    pub const fn without(self, other: Flags) -> Self {
        Flags(self.0 & !other.0)
    }
    /// Set or clear `other`'s bits.
    pub fn set(&mut self, other: Flags, on: bool) {
        *self = if on { self.with(other) } else { self.without(other) };
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.with(rhs)
    }
}

impl core::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        *self = self.with(rhs);
    }
}

impl fmt::Debug for Flags {
    /// Pyro's names joined by `|`, unknown bits in hex: `ONEWAY|CORR_ID|0x8000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(empty)");
        }
        let mut rest = *self;
        let mut first = true;
        for (flag, name) in Self::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
                rest = rest.without(flag);
            }
        }
        if !rest.is_empty() {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{:#06x}", rest.0)?;
        }
        Ok(())
    }
}

/// The 16 raw bytes of a UUID carried in the header (RFC 4122 byte order).
#[derive(Clone, Copy, Default, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CorrelationId(pub [u8; 16]);

impl CorrelationId {
    /// All zero: what Pyro sends when it has no correlation id.
    pub const NONE: CorrelationId = CorrelationId([0; 16]);

    /// Whether all bytes are zero.
    pub fn is_none(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Debug for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for CorrelationId {
    /// The UUID text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, as Python prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Why a header was refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HeaderError {
    /// The first 4 bytes were not `PYRO`: the peer does not speak Pyro.
    BadTag([u8; 4]),
    /// The protocol version was not 502.
    BadVersion(u16),
    /// The magic number at offset 0x26 was not 0x4dc5.
    BadMagic(u16),
}

impl HeaderError {
    /// The Python exception class Pyro5 raises for this error.
    pub fn pyro_class(&self) -> &'static str {
        "Pyro5.errors.ProtocolError"
    }

    /// The text Pyro5 puts in its error (and so in a CONNECTFAIL reply), e.g.
    /// `invalid protocol version: 501`.
    pub fn pyro_message(&self) -> impl fmt::Display + '_ {
        PyroText(self)
    }
}

struct PyroText<'a>(&'a HeaderError);

impl fmt::Display for PyroText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            HeaderError::BadTag(_) => f.write_str("invalid data"),
            HeaderError::BadVersion(v) => write!(f, "invalid protocol version: {v}"),
            HeaderError::BadMagic(_) => f.write_str("invalid message or protocol version"),
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadTag(tag) => write!(
                f,
                "invalid data: message does not start with PYRO (got {:02x}{:02x}{:02x}{:02x}); the peer does not speak Pyro",
                tag[0], tag[1], tag[2], tag[3]
            ),
            Self::BadVersion(v) => {
                write!(f, "invalid protocol version: {v} (this side speaks {PROTOCOL_VERSION}, Pyro5)")
            }
            Self::BadMagic(m) => {
                write!(f, "invalid message or protocol version: magic number {m:#06x}, expected {MAGIC:#06x}")
            }
        }
    }
}

impl core::error::Error for HeaderError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str) -> [u8; HEADER_LEN] {
        let bytes = match name {
            "connect" => &include_bytes!("../../../testdata/messages/header_only_connect.bin")[..],
            "ping" => &include_bytes!("../../../testdata/messages/header_only_ping.bin")[..],
            "seq_ffff" => &include_bytes!("../../../testdata/messages/seq_ffff.bin")[..],
            "corr" => &include_bytes!("../../../testdata/messages/correlation_id.bin")[..],
            "ser4" => &include_bytes!("../../../testdata/messages/header_only_invoke_ser4.bin")[..],
            _ => unreachable!(),
        };
        bytes[..HEADER_LEN].try_into().unwrap()
    }

    #[test]
    fn parse_reads_every_field_of_a_recorded_header() {
        let h = Header::parse_bytes(&frame("connect")).unwrap();
        assert_eq!(h, Header::new(MessageKind::Connect, SerializerId::Serpent, 0));
        let h = Header::parse_bytes(&frame("seq_ffff")).unwrap();
        assert_eq!((h.kind, h.seq), (MessageKind::Result, 0xffff));
        let h = Header::parse_bytes(&frame("ser4")).unwrap();
        assert_eq!(h.serializer, SerializerId::Msgpack);
        let h = Header::parse_bytes(&frame("corr")).unwrap();
        assert!(h.flags.contains(Flags::CORR_ID));
        assert!(!h.correlation_id.is_none());
    }

    #[test]
    fn view_reads_raw_fields_at_their_offsets() {
        let mut b = [0u8; HEADER_LEN];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8;
        }
        let v = HeaderView::new(&b);
        assert_eq!(v.tag(), [0, 1, 2, 3]);
        assert_eq!(v.version(), 0x0405);
        assert_eq!(v.kind(), 6);
        assert_eq!(v.serializer(), 7);
        assert_eq!(v.flags(), 0x0809);
        assert_eq!(v.seq(), 0x0a0b);
        assert_eq!(v.data_len(), 0x0c0d0e0f);
        assert_eq!(v.annotations_len(), 0x10111213);
        assert_eq!(v.correlation_id()[0], 20);
        assert_eq!(v.correlation_id()[15], 35);
        assert_eq!(v.reserved(), 0x2425);
        assert_eq!(v.magic(), 0x2627);
    }

    #[test]
    fn emit_reproduces_recorded_bytes() {
        for name in ["connect", "ping", "seq_ffff", "corr", "ser4"] {
            let bytes = frame(name);
            let mut out = [0u8; HEADER_LEN];
            Header::parse_bytes(&bytes).unwrap().emit(&mut out);
            assert_eq!(out, bytes, "{name}");
        }
    }

    #[test]
    fn every_field_round_trips_including_unknown_values() {
        let h = Header {
            kind: MessageKind::Unknown(200),
            serializer: SerializerId::Unknown(PING_SERIALIZER_ID),
            flags: Flags::from_bits(0xffff),
            seq: 0x1234,
            data_len: u32::MAX,
            annotations_len: 7,
            correlation_id: CorrelationId([9; 16]),
            reserved: 0xabcd,
        };
        let mut out = [0u8; HEADER_LEN];
        h.emit(&mut out);
        assert_eq!(Header::parse_bytes(&out).unwrap(), h);
        assert_eq!(h.body_len(), u64::from(u32::MAX) + 7);
    }

    #[test]
    fn bad_tag_version_and_magic_are_told_apart() {
        let good = frame("connect");
        let mut b = good;
        b[3] = b'X';
        assert_eq!(Header::parse_bytes(&b), Err(HeaderError::BadTag(*b"PYRX")));
        let mut b = good;
        b[5] = 0xf5;
        assert_eq!(Header::parse_bytes(&b), Err(HeaderError::BadVersion(501)));
        let mut b = good;
        b[39] = 0xc6;
        assert_eq!(Header::parse_bytes(&b), Err(HeaderError::BadMagic(0x4dc6)));
    }

    #[test]
    fn tag_is_checked_before_version_and_version_before_magic() {
        let mut b = [0u8; HEADER_LEN];
        b[..4].copy_from_slice(b"HTTP");
        assert!(matches!(Header::parse_bytes(&b), Err(HeaderError::BadTag(_))));
        b[..4].copy_from_slice(b"PYRO");
        assert!(matches!(Header::parse_bytes(&b), Err(HeaderError::BadVersion(0))));
        assert_eq!(check_prefix(b"PYR"), Ok(()));
        assert_eq!(check_prefix(b"PYRO\x01"), Ok(()));
        assert_eq!(check_prefix(b"PYRO\x01\xf6"), Ok(()));
        assert_eq!(check_prefix(b"PYRO\x01\xf5"), Err(HeaderError::BadVersion(501)));
    }

    #[test]
    fn pyro_messages_match_pyro5_texts() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(HeaderError::BadTag(*b"GET ").pyro_message().to_string(), "invalid data");
        assert_eq!(HeaderError::BadVersion(501).pyro_message().to_string(), "invalid protocol version: 501");
        assert_eq!(HeaderError::BadMagic(1).pyro_message().to_string(), "invalid message or protocol version");
        assert_eq!(HeaderError::BadMagic(1).pyro_class(), "Pyro5.errors.ProtocolError");
    }

    #[test]
    fn message_kind_and_serializer_keep_unknown_values() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(MessageKind::from(v)), v);
            assert_eq!(u8::from(SerializerId::from(v)), v);
        }
        assert_eq!(SerializerId::Json.name(), Some("json"));
        assert_eq!(SerializerId::Unknown(42).name(), None);
    }

    #[test]
    fn flags_debug_uses_pyro_names_and_keeps_unknown_bits() {
        extern crate std;
        use std::format;
        assert_eq!(format!("{:?}", Flags::ONEWAY | Flags::CORR_ID), "ONEWAY|CORR_ID");
        assert_eq!(format!("{:?}", Flags::from_bits(0x8001)), "EXCEPTION|0x8000");
        assert_eq!(format!("{:?}", Flags::empty()), "(empty)");
        let mut f = Flags::BATCH;
        f.set(Flags::COMPRESSED, true);
        assert!(f.contains(Flags::BATCH | Flags::COMPRESSED));
        f.set(Flags::BATCH, false);
        assert_eq!(f, Flags::COMPRESSED);
    }

    #[test]
    fn correlation_id_prints_as_a_uuid() {
        extern crate std;
        use std::string::ToString;
        let id = CorrelationId([
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
        ]);
        assert_eq!(id.to_string(), "12345678-9abc-def0-0123-456789abcdef");
    }
}

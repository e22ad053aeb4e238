//! Annotation chunks: `id (4 ASCII bytes) | u32 BE length | value` repeated
//! (`docs/wire-protocol.md`, "Annotations").
//!
//! [`AnnotationsView::new_checked`] validates every chunk once; iterating and looking up
//! afterwards cannot fail. Writing goes through [`Annotation`] slices.

use core::fmt;

/// Bytes in a chunk's header (id + length).
pub const CHUNK_HEADER_LEN: usize = 8;

/// A 4-character ASCII annotation id, such as `STRM`.
#[derive(Clone, Copy, Eq, Hash, Ord, PartialEq, PartialOrd)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AnnotationId([u8; 4]);

impl AnnotationId {
    /// `STRM`: the stream id of a remote iterator, on a RESULT.
    pub const STREAM: AnnotationId = AnnotationId(*b"STRM");
    /// `BLBI`: object and method of a KEEPSERIALIZED call.
    pub const BLOB_INFO: AnnotationId = AnnotationId(*b"BLBI");

    /// An id from 4 bytes, if they are all ASCII.
    ///
    /// # Errors
    /// [`AnnotationError::NonAsciiId`] (with offset 0) otherwise.
    pub const fn new(bytes: [u8; 4]) -> Result<Self, AnnotationError> {
        if bytes.is_ascii() { Ok(Self(bytes)) } else { Err(AnnotationError::NonAsciiId { offset: 0, id: bytes }) }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // ASCII is always valid UTF-8; the fallback is never taken.
        core::str::from_utf8(&self.0).unwrap_or("????")
    }

    /// The 4 raw bytes.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0
    }
}

impl TryFrom<&str> for AnnotationId {
    type Error = AnnotationError;
    /// Pyro's rule for annotation keys: exactly 4 ASCII characters.
    fn try_from(s: &str) -> Result<Self, AnnotationError> {
        match <[u8; 4]>::try_from(s.as_bytes()) {
            Ok(bytes) => Self::new(bytes),
            Err(_) => Err(AnnotationError::IdLength { len: s.len() }),
        }
    }
}

impl PartialEq<str> for AnnotationId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for AnnotationId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for AnnotationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for AnnotationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One annotation to send.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Annotation<'a> {
    /// Its id.
    pub id: AnnotationId,
    /// Its value, opaque bytes (may be empty).
    pub value: &'a [u8],
}

impl<'a> Annotation<'a> {
    /// An annotation with the given id and value.
    pub const fn new(id: AnnotationId, value: &'a [u8]) -> Self {
        Self { id, value }
    }
}

/// Received annotation chunks, validated, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct AnnotationsView<'a> {
    /// Validated chunk bytes: a whole number of well-formed chunks.
    bytes: &'a [u8],
}

impl<'a> AnnotationsView<'a> {
    /// Validate `bytes` as a sequence of chunks.
    ///
    /// # Errors
    /// A chunk whose length runs past the end, a trailing piece shorter than a chunk header,
    /// or an id that is not ASCII.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, AnnotationError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let offset = bytes.len() - rest.len();
            let (_, _, tail) = split_chunk(rest, offset)?;
            rest = tail;
        }
        Ok(Self { bytes })
    }

    /// No annotations.
    pub const fn empty() -> Self {
        Self { bytes: &[] }
    }

    /// The chunk bytes as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Whether there are no chunks.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The chunks in wire order (duplicates included).
    pub fn iter(&self) -> AnnotationsIter<'a> {
        AnnotationsIter { rest: self.bytes }
    }

    /// The value for `id`. As in Pyro5, when an id occurs more than once the last one wins.
    pub fn get(&self, id: AnnotationId) -> Option<&'a [u8]> {
        self.iter().filter(|(i, _)| *i == id).last().map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for AnnotationsView<'a> {
    type Item = (AnnotationId, &'a [u8]);
    type IntoIter = AnnotationsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over validated chunks: `(id, value)` in wire order.
#[derive(Clone, Debug)]
pub struct AnnotationsIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for AnnotationsIter<'a> {
    type Item = (AnnotationId, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        // The bytes were validated by `new_checked`; an error here cannot happen and ends
        // the iteration rather than panicking.
        let (id, value, rest) = split_chunk(self.rest, 0).ok()?;
        self.rest = rest;
        Some((id, value))
    }
}

/// Split one chunk off the front of `bytes` (non-empty), `offset` being where `bytes`
/// starts within the annotations (for errors).
fn split_chunk(bytes: &[u8], offset: usize) -> Result<(AnnotationId, &[u8], &[u8]), AnnotationError> {
    let remaining = bytes.len();
    let Some((head, body)) = bytes.split_first_chunk::<CHUNK_HEADER_LEN>() else {
        return Err(AnnotationError::Truncated { offset, remaining });
    };
    let [i0, i1, i2, i3, l0, l1, l2, l3] = *head;
    let id = AnnotationId::new([i0, i1, i2, i3])
        .map_err(|_| AnnotationError::NonAsciiId { offset, id: [i0, i1, i2, i3] })?;
    let length = u32::from_be_bytes([l0, l1, l2, l3]);
    let value_len = usize::try_from(length).unwrap_or(usize::MAX);
    if value_len > body.len() {
        return Err(AnnotationError::Overrun { offset, length, remaining: body.len() });
    }
    let (value, rest) = body.split_at(value_len);
    Ok((id, value, rest))
}

/// Total wire size of `annotations`, as the header's `annotations_len`.
///
/// # Errors
/// [`AnnotationError::TooLong`] when a value or the total does not fit in 32 bits.
pub fn encoded_len(annotations: &[Annotation<'_>]) -> Result<u32, AnnotationError> {
    let mut total: u32 = 0;
    for a in annotations {
        let len = u32::try_from(a.value.len()).map_err(|_| AnnotationError::TooLong)?;
        total = total
            .checked_add(CHUNK_HEADER_LEN as u32)
            .and_then(|t| t.checked_add(len))
            .ok_or(AnnotationError::TooLong)?;
    }
    Ok(total)
}

/// Write `annotations` as chunks at the start of `out`; returns the bytes written.
///
/// # Errors
/// [`AnnotationError::BufferTooSmall`] with the size needed, or [`AnnotationError::TooLong`].
pub fn write(annotations: &[Annotation<'_>], out: &mut [u8]) -> Result<usize, AnnotationError> {
    let required = encoded_len(annotations)? as usize;
    if out.len() < required {
        return Err(AnnotationError::BufferTooSmall { required });
    }
    let mut rest = out;
    for a in annotations {
        let too_small = AnnotationError::BufferTooSmall { required };
        let (head, tail) = core::mem::take(&mut rest).split_first_chunk_mut::<CHUNK_HEADER_LEN>().ok_or(too_small)?;
        *head = chunk_header(a)?;
        let (value, tail) = tail.split_at_mut_checked(a.value.len()).ok_or(too_small)?;
        value.copy_from_slice(a.value);
        rest = tail;
    }
    Ok(required)
}

/// The 8-byte header of `a`'s chunk: its id and the length of its value.
///
/// # Errors
/// [`AnnotationError::TooLong`] for a value over 4 GiB.
pub fn chunk_header(a: &Annotation<'_>) -> Result<[u8; CHUNK_HEADER_LEN], AnnotationError> {
    let [i0, i1, i2, i3] = a.id.0;
    let len = u32::try_from(a.value.len()).map_err(|_| AnnotationError::TooLong)?;
    let [l0, l1, l2, l3] = len.to_be_bytes();
    Ok([i0, i1, i2, i3, l0, l1, l2, l3])
}

/// Why annotation chunks were refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AnnotationError {
    /// A chunk announces a value longer than what is left of `annotations_size`.
    Overrun {
        /// Where the chunk starts within the annotations.
        offset: usize,
        /// The value length it announces.
        length: u32,
        /// Bytes left after its 8-byte header.
        remaining: usize,
    },
    /// Fewer than 8 bytes are left: not even a chunk header.
    Truncated {
        /// Where the leftover starts within the annotations.
        offset: usize,
        /// How many bytes are left.
        remaining: usize,
    },
    /// An id byte is not ASCII.
    NonAsciiId {
        /// Where the chunk starts within the annotations.
        offset: usize,
        /// The raw id.
        id: [u8; 4],
    },
    /// An id to send is not 4 characters long.
    IdLength {
        /// Its length in bytes.
        len: usize,
    },
    /// A value to send, or all of them together, exceed 4 GiB.
    TooLong,
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        required: usize,
    },
}

impl AnnotationError {
    /// The text Pyro5 uses for the same fault when it receives such chunks.
    pub fn pyro_message(&self) -> &'static str {
        match self {
            Self::Overrun { .. } | Self::Truncated { .. } => "annotation chunk length exceeds remaining data",
            Self::NonAsciiId { .. } => "'ascii' codec can't decode annotation id",
            Self::IdLength { .. } => "annotation identifier must be 4 ascii characters",
            Self::TooLong | Self::BufferTooSmall { .. } => "annotations too large",
        }
    }
}

impl fmt::Display for AnnotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Overrun { offset, length, remaining } => {
                write!(f, "annotation chunk at offset {offset} announces {length} bytes but only {remaining} remain")
            }
            Self::Truncated { offset, remaining } => write!(
                f,
                "annotation data ends with {remaining} stray bytes at offset {offset}, too few for a chunk header"
            ),
            Self::NonAsciiId { offset, id } => write!(
                f,
                "annotation id at offset {offset} is not ASCII ({:02x}{:02x}{:02x}{:02x})",
                id[0], id[1], id[2], id[3]
            ),
            Self::IdLength { len } => write!(f, "annotation id must be exactly 4 ASCII characters, got {len} bytes"),
            Self::TooLong => f.write_str("annotations exceed the 4 GiB a header can announce"),
            Self::BufferTooSmall { required } => {
                write!(f, "output buffer too small for the annotations: {required} bytes needed")
            }
        }
    }
}

impl core::error::Error for AnnotationError {}

#[cfg(test)]
mod tests {
    use super::*;

    const CUSTOM: &[u8] = include_bytes!("../../../testdata/messages/annotations_custom.bin");

    fn chunks_of(frame: &[u8]) -> &[u8] {
        let len = u32::from_be_bytes(frame[16..20].try_into().unwrap()) as usize;
        &frame[40..40 + len]
    }

    #[test]
    fn recorded_chunks_iterate_in_wire_order() {
        let view = AnnotationsView::new_checked(chunks_of(CUSTOM)).unwrap();
        let got: std::vec::Vec<_> = view.iter().collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (AnnotationId::try_from("XYZZ").unwrap(), &b"hello"[..]));
        assert_eq!(got[1], (AnnotationId::try_from("ABCD").unwrap(), &[0u8, 1, 2][..]));
    }

    #[test]
    fn write_reproduces_recorded_chunks() {
        let list = [
            Annotation::new(AnnotationId::try_from("XYZZ").unwrap(), b"hello"),
            Annotation::new(AnnotationId::try_from("ABCD").unwrap(), &[0, 1, 2]),
        ];
        let mut out = [0u8; 64];
        let n = write(&list, &mut out).unwrap();
        assert_eq!(&out[..n], chunks_of(CUSTOM));
        assert_eq!(encoded_len(&list).unwrap() as usize, n);
        assert_eq!(write(&list, &mut out[..n - 1]), Err(AnnotationError::BufferTooSmall { required: n }));
    }

    #[test]
    fn empty_value_is_allowed() {
        let frame = include_bytes!("../../../testdata/messages/annotation_empty_value.bin");
        let view = AnnotationsView::new_checked(chunks_of(frame)).unwrap();
        assert_eq!(view.get(AnnotationId::try_from("EMPT").unwrap()), Some(&b""[..]));
    }

    #[test]
    fn later_duplicate_wins() {
        let bytes = b"DUPL\0\0\0\x01aDUPL\0\0\0\x01b";
        let view = AnnotationsView::new_checked(bytes).unwrap();
        assert_eq!(view.iter().count(), 2);
        assert_eq!(view.get(AnnotationId::try_from("DUPL").unwrap()), Some(&b"b"[..]));
        assert_eq!(view.get(AnnotationId::STREAM), None);
    }

    #[test]
    fn overrun_truncation_and_non_ascii_ids_are_refused() {
        assert_eq!(
            AnnotationsView::new_checked(b"ABCD\0\0\0\x05abc"),
            Err(AnnotationError::Overrun { offset: 0, length: 5, remaining: 3 })
        );
        assert_eq!(
            AnnotationsView::new_checked(b"ABCD\0\0\0\x01aXY"),
            Err(AnnotationError::Truncated { offset: 9, remaining: 2 })
        );
        assert_eq!(
            AnnotationsView::new_checked(b"AB\xffD\0\0\0\0"),
            Err(AnnotationError::NonAsciiId { offset: 0, id: *b"AB\xffD" })
        );
        assert_eq!(
            AnnotationsView::new_checked(b"ABCD\xff\xff\xff\xff"),
            Err(AnnotationError::Overrun { offset: 0, length: u32::MAX, remaining: 0 })
        );
        assert_eq!(
            AnnotationError::Overrun { offset: 0, length: 1, remaining: 0 }.pyro_message(),
            "annotation chunk length exceeds remaining data"
        );
    }

    #[test]
    fn ids_must_be_four_ascii_characters() {
        assert_eq!(AnnotationId::try_from("ABC"), Err(AnnotationError::IdLength { len: 3 }));
        assert_eq!(AnnotationId::try_from("ABCDE"), Err(AnnotationError::IdLength { len: 5 }));
        assert!(AnnotationId::try_from("ABé").is_err());
        assert_eq!(AnnotationId::STREAM, "STRM");
        assert_eq!(AnnotationId::BLOB_INFO.as_str(), "BLBI");
    }

    extern crate std;
}

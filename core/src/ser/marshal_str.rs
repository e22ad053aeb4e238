//! A Python `str` in marshal, written and read without the rest of the format: a daemon answers
//! a failed handshake with CONNECTFAIL in marshal whatever serializer the client speaks, and a
//! client reads that answer, also in builds without the `marshal` feature
//! (`docs/serializers.md`, "marshal"; `docs/wire-protocol.md`, "Handshake").
//!
//! The bytes are those of the marshal serializer: `z` and a 1-byte length for ASCII text
//! shorter than 256 bytes, `a` and a 4-byte little-endian length for longer ASCII text, `u`
//! and a 4-byte length for any other UTF-8 text.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use core::fmt::{self, Write as _};

use super::output::{FmtAdapter, Output, OutputError};

/// Why a `str` could not be written.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum StrError {
    /// The output is full or failed.
    Output(OutputError),
    /// The value's `Display` failed.
    Fmt,
    /// Longer than marshal's 32-bit length.
    TooLong { len: usize },
    /// The value's `Display` wrote another length the second time.
    LengthMismatch { announced: usize, written: usize },
}

/// Write `s` as `marshal.dumps(s)` does.
#[cfg(feature = "marshal")]
pub(crate) fn write_str(out: &mut dyn Output, s: &str) -> Result<(), StrError> {
    head(out, s.len(), s.is_ascii())?;
    out.write_bytes(s.as_bytes()).map_err(StrError::Output)
}

/// Write the text of `value` as `marshal.dumps(str(value))` does: its length is measured by
/// formatting it once, then it is formatted into `out`.
pub(crate) fn write_display(out: &mut dyn Output, value: &dyn fmt::Display) -> Result<(), StrError> {
    let mut measure = Measure { len: 0, ascii: true };
    write!(measure, "{value}").map_err(|_| StrError::Fmt)?;
    head(out, measure.len, measure.ascii)?;
    let mut written = Measure { len: 0, ascii: true };
    let mut adapter = FmtAdapter { out: &mut &mut *out, error: None };
    let res = write!(Tee { a: &mut adapter, b: &mut written }, "{value}");
    if let Some(e) = adapter.error {
        return Err(StrError::Output(e));
    }
    res.map_err(|_| StrError::Fmt)?;
    if written.len != measure.len {
        return Err(StrError::LengthMismatch { announced: measure.len, written: written.len });
    }
    Ok(())
}

/// The text of `payload` when it is exactly one marshal `str` (any of CPython's string type
/// codes, with or without FLAG_REF); `None` for anything else.
pub(crate) fn read(payload: &[u8]) -> Option<&str> {
    let (&code, rest) = payload.split_first()?;
    let (ascii, body) = match code & 0x7f {
        b'z' | b'Z' => {
            let (&len, rest) = rest.split_first()?;
            (true, sized(rest, usize::from(len))?)
        }
        code @ (b'a' | b'A' | b'u' | b't') => {
            let (len, rest) = rest.split_first_chunk::<4>()?;
            (code != b'u' && code != b't', sized(rest, usize::try_from(u32::from_le_bytes(*len)).ok()?)?)
        }
        _ => return None,
    };
    if ascii && !body.is_ascii() {
        return None;
    }
    core::str::from_utf8(body).ok()
}

/// `rest` when it is exactly `len` bytes.
fn sized(rest: &[u8], len: usize) -> Option<&[u8]> {
    (rest.len() == len).then_some(rest)
}

/// The type code and length of a string of `len` bytes.
fn head(out: &mut dyn Output, len: usize, ascii: bool) -> Result<(), StrError> {
    match u8::try_from(len) {
        Ok(len) if ascii => out.write_bytes(&[b'z', len]),
        _ => {
            let size = i32::try_from(len).map_err(|_| StrError::TooLong { len })?;
            let [a, b, c, d] = size.to_le_bytes();
            out.write_bytes(&[if ascii { b'a' } else { b'u' }, a, b, c, d])
        }
    }
    .map_err(StrError::Output)
}

/// Counts the bytes written and whether they are all ASCII.
struct Measure {
    len: usize,
    ascii: bool,
}

impl fmt::Write for Measure {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.len = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.ascii &= s.is_ascii();
        Ok(())
    }
}

/// Writes to two writers.
struct Tee<'x, A: fmt::Write, B: fmt::Write> {
    a: &'x mut A,
    b: &'x mut B,
}

impl<A: fmt::Write, B: fmt::Write> fmt::Write for Tee<'_, A, B> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.b.write_str(s)?;
        self.a.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use super::*;
    use crate::ser::SliceOutput;

    fn dumps(value: &dyn fmt::Display) -> Vec<u8> {
        let mut buf = [0u8; 400];
        let mut out = SliceOutput::new(&mut buf);
        write_display(&mut out, value).unwrap();
        let len = out.len();
        buf[..len].to_vec()
    }

    #[test]
    fn strings_are_written_as_python_marshal_writes_them() {
        assert_eq!(dumps(&"receiving: timeout"), b"z\x12receiving: timeout");
        assert_eq!(dumps(&format_args!("{}-{}", 12, "\u{e9}")), b"u\x05\x00\x00\x0012-\xc3\xa9");
        let long = "x".repeat(300);
        assert_eq!(&dumps(&long)[..5], b"a\x2c\x01\x00\x00");
    }

    #[cfg(feature = "marshal")]
    #[test]
    fn str_slices_are_written_as_displayed_ones() {
        let mut buf = [0u8; 8];
        let mut out = SliceOutput::new(&mut buf);
        write_str(&mut out, "ok").unwrap();
        assert_eq!(&buf[..4], b"z\x02ok");
    }

    #[test]
    fn every_string_type_code_reads_back() {
        assert_eq!(read(b"z\x02ok"), Some("ok"));
        assert_eq!(read(b"\xda\x02ok"), Some("ok"), "FLAG_REF");
        assert_eq!(read(b"a\x02\x00\x00\x00ok"), Some("ok"));
        assert_eq!(read(b"u\x02\x00\x00\x00\xc3\xa9"), Some("\u{e9}"));
        assert_eq!(read(b"t\x01\x00\x00\x00x"), Some("x"));
        assert_eq!(read(b"z\x03ok"), None, "too short");
        assert_eq!(read(b"z\x01ok"), None, "trailing bytes");
        assert_eq!(read(b"z\x02\xc3\xa9"), None, "not ASCII");
        assert_eq!(read(b"i\x01\x00\x00\x00"), None);
        assert_eq!(read(b""), None);
    }
}

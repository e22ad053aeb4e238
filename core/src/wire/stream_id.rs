//! Item stream ids: random UUIDs (version 4), sent in the `STRM` annotation as their
//! 36-character text (`docs/wire-protocol.md`, "Item streams"). The daemon makes them, the
//! proxy reads them back.

use core::fmt;

/// A stream's id: a random UUID (version 4), sent as its 36-character text.
#[derive(Clone, Copy, Eq, PartialEq, Hash)]
pub struct StreamId(pub [u8; 16]);

impl StreamId {
    /// A version-4 UUID from 16 random bytes.
    pub fn from_random(mut bytes: [u8; 16]) -> Self {
        let [.., b6, _, b8, _, _, _, _, _, _, _] = &mut bytes;
        *b6 = (*b6 & 0x0f) | 0x40;
        *b8 = (*b8 & 0x3f) | 0x80;
        Self(bytes)
    }

    /// Read the text form (`8-4-4-4-12` hex digits, any case).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.as_bytes();
        if text.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut digits = text.iter().enumerate().filter(|(i, _)| !matches!(i, 8 | 13 | 18 | 23));
        if [8, 13, 18, 23].iter().any(|&i| text.get(i) != Some(&b'-')) {
            return None;
        }
        for byte in &mut out {
            let (_, hi) = digits.next()?;
            let (_, lo) = digits.next()?;
            *byte = (hex(*hi)? << 4) | hex(*lo)?;
        }
        Some(Self(out))
    }

    /// The 36 ASCII bytes of the text form.
    pub fn to_text(&self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digit = |nibble: u8| HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
        let mut out = [b'-'; 36];
        let mut at = 0;
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            if let Some([hi, lo]) = out.get_mut(at..at + 2).and_then(|pair| <&mut [u8; 2]>::try_from(pair).ok()) {
                *hi = digit(byte >> 4);
                *lo = digit(byte & 0x0f);
            }
            at += 2;
        }
        out
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_text();
        f.write_str(core::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({self})")
    }
}

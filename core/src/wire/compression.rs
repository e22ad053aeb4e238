//! zlib compression of payloads, Pyro's `COMPRESSION` setting (`docs/wire-protocol.md`,
//! "Compression").
//!
//! A sender compresses a payload longer than [`COMPRESSION_THRESHOLD`] bytes at zlib level 4
//! and sets [`Flags::COMPRESSED`](super::Flags::COMPRESSED), even when compressing made it
//! bigger. A receiver inflates any payload with the flag set, whatever its own setting.
//! Both need the `alloc` feature; without it, compressed payloads are a typed error.

use core::fmt;

/// Payloads longer than this (strictly) are compressed when compression is on.
pub const COMPRESSION_THRESHOLD: usize = 100;
/// The zlib level Pyro5 compresses at.
pub const COMPRESSION_LEVEL: u8 = 4;

/// Whether Pyro compresses a payload of `len` bytes when compression is enabled.
pub const fn should_compress(len: usize) -> bool {
    len > COMPRESSION_THRESHOLD
}

/// Inflate a zlib stream, refusing to produce more than `max` bytes.
///
/// # Errors
/// [`CompressionError::Corrupt`] for data that is not a whole zlib stream (with what zlib
/// would say about it),
/// [`CompressionError::TooLarge`] when the output would exceed `max`.
#[cfg(feature = "alloc")]
pub fn inflate(data: &[u8], max: usize) -> Result<alloc::vec::Vec<u8>, CompressionError> {
    use miniz_oxide::inflate::{TINFLStatus, decompress_to_vec_zlib_with_limit};
    decompress_to_vec_zlib_with_limit(data, max).map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => CompressionError::TooLarge { max },
        TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
            CompressionError::Corrupt(ZlibFault::Truncated)
        }
        TINFLStatus::Adler32Mismatch => CompressionError::Corrupt(ZlibFault::DataCheck),
        _ => CompressionError::Corrupt(header_fault(data).unwrap_or(ZlibFault::InvalidData)),
    })
}

/// What zlib finds wrong with a stream's two header bytes, as zlib checks them.
#[cfg(feature = "alloc")]
fn header_fault(data: &[u8]) -> Option<ZlibFault> {
    match data {
        [cmf, flg, ..] if (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 != 0 => Some(ZlibFault::HeaderCheck),
        [cmf, ..] if cmf & 0x0f != 8 => Some(ZlibFault::UnknownMethod),
        [_] | [] => Some(ZlibFault::Truncated),
        _ => None,
    }
}

/// What is wrong with a zlib stream, in the words of Python's `zlib.error`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ZlibFault {
    /// The header's check bits are wrong (plain data flagged compressed).
    HeaderCheck,
    /// The header names another method than deflate.
    UnknownMethod,
    /// The stream ends early.
    Truncated,
    /// The Adler-32 checksum at the end does not match.
    DataCheck,
    /// The deflate data is malformed.
    InvalidData,
}

impl ZlibFault {
    /// Python's `str(zlib.error)` for the same stream, as Pyro5 reports it.
    pub fn python_text(self) -> &'static str {
        match self {
            Self::HeaderCheck => "Error -3 while decompressing data: incorrect header check",
            Self::UnknownMethod => "Error -3 while decompressing data: unknown compression method",
            Self::Truncated => "Error -5 while decompressing data: incomplete or truncated stream",
            Self::DataCheck => "Error -3 while decompressing data: incorrect data check",
            Self::InvalidData => "Error -3 while decompressing data: invalid block type",
        }
    }
}

/// Compress as Pyro5 does (zlib stream, level 4).
#[cfg(feature = "alloc")]
pub fn deflate(data: &[u8]) -> alloc::vec::Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, COMPRESSION_LEVEL)
}

/// Why a payload could not be compressed or inflated.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CompressionError {
    /// The payload is flagged compressed but is not a valid zlib stream.
    Corrupt(ZlibFault),
    /// Inflating would produce more than the limit.
    TooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// This build has no zlib: `pyro5-core` was built without the `alloc` feature.
    Unsupported,
}

impl fmt::Display for CompressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Corrupt(fault) => write!(f, "compressed payload is not a valid zlib stream ({})", fault.python_text()),
            Self::TooLarge { max } => write!(
                f,
                "compressed payload inflates to more than {max} bytes; raise Limits::max_message_size"
            ),
            Self::Unsupported => f.write_str(
                "compressed payloads need zlib: build pyro5-core with the `alloc` feature, or have the peer turn COMPRESSION off",
            ),
        }
    }
}

impl core::error::Error for CompressionError {}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_strictly_more_than_100() {
        assert!(!should_compress(100));
        assert!(should_compress(101));
    }

    #[test]
    fn deflate_then_inflate_is_identity() {
        let data: alloc::vec::Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
        let z = deflate(&data);
        assert_eq!(z[0], 0x78, "a zlib stream");
        assert_eq!(inflate(&z, data.len()).unwrap(), data);
        assert_eq!(inflate(&z, data.len() - 1), Err(CompressionError::TooLarge { max: 4999 }));
        assert_eq!(inflate(b"not zlib at all", 1000), Err(CompressionError::Corrupt(ZlibFault::HeaderCheck)));
        let good = deflate(b"some payload that is long enough to matter, some payload");
        assert_eq!(inflate(&good[..good.len() - 6], 1000), Err(CompressionError::Corrupt(ZlibFault::Truncated)));
        let mut bad_sum = good.clone();
        *bad_sum.last_mut().unwrap() ^= 1;
        assert_eq!(inflate(&bad_sum, 1000), Err(CompressionError::Corrupt(ZlibFault::DataCheck)));
    }
}

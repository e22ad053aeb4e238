//! Where serializers write: a caller buffer, an [`embedded_io::Write`], or (feature `alloc`)
//! a `Vec<u8>`.

use core::fmt;

/// A byte sink for the serializers.
pub trait Output {
    /// Append `bytes`.
    ///
    /// # Errors
    /// [`OutputError`] when the sink is full or fails.
    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), OutputError>;
}

/// Why output could not be written.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OutputError {
    /// The caller's buffer is full.
    BufferFull {
        /// Its size.
        capacity: usize,
    },
    /// The writer failed.
    Io(embedded_io::ErrorKind),
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferFull { capacity } => {
                write!(f, "output buffer of {capacity} bytes is full; give the serializer a larger buffer")
            }
            Self::Io(kind) => write!(f, "writing the payload failed: {kind:?}"),
        }
    }
}

impl core::error::Error for OutputError {}

/// Writes into a caller buffer from its start.
#[derive(Debug)]
pub struct SliceOutput<'a> {
    buf: &'a mut [u8],
    /// Bytes written: `0 <= len <= buf.len()`.
    len: usize,
}

impl<'a> SliceOutput<'a> {
    /// Output into `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }
    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Output for SliceOutput<'_> {
    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        let full = OutputError::BufferFull { capacity: self.buf.len() };
        let end = self.len.checked_add(bytes.len()).ok_or(full)?;
        self.buf.get_mut(self.len..end).ok_or(full)?.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// Writes into an [`embedded_io::Write`].
#[derive(Debug)]
pub struct IoOutput<W>(pub W);

impl<W: embedded_io::Write> Output for IoOutput<W> {
    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.0.write_all(bytes).map_err(|e| OutputError::Io(embedded_io::Error::kind(&e)))
    }
}

#[cfg(feature = "alloc")]
impl Output for alloc::vec::Vec<u8> {
    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

impl<O: Output + ?Sized> Output for &mut O {
    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        (**self).write_bytes(bytes)
    }
}

/// Adapts an [`Output`] to [`core::fmt::Write`], keeping the real error.
pub(crate) struct FmtAdapter<'o, O: Output> {
    pub(crate) out: &'o mut O,
    pub(crate) error: Option<OutputError>,
}

impl<O: Output> fmt::Write for FmtAdapter<'_, O> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.write_bytes(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

/// Writes a value (e.g. serializes it) into an [`Output`].
pub(crate) type WriteWith<'a> = dyn Fn(&mut dyn Output) -> Result<(), OutputError> + 'a;

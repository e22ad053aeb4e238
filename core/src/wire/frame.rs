//! An outgoing message laid out in the connection's transmit storage: header space, then
//! annotation chunks as they are added, then the payload as it is serialized in place.

use crate::limits::Limits;
use crate::ser::output::WriteWith;
use crate::ser::{Output, OutputError};
use crate::wire::annotations::chunk_header;
use crate::wire::encoder::{check_size, compress_in_place};
use crate::wire::{Annotation, AnnotationId, EncodeError, HEADER_LEN, OutgoingMessage, RxStorage};

/// One outgoing message being written into transmit storage.
pub(crate) struct Frame<'s> {
    storage: &'s mut dyn RxStorage,
    /// Bytes written so far, header space included.
    len: usize,
    /// Where the payload starts, once it has.
    payload_at: Option<usize>,
    /// The most the whole message may take.
    max_len: usize,
}

impl<'s> Frame<'s> {
    pub(crate) fn new(storage: &'s mut dyn RxStorage, limits: Limits) -> Self {
        let max_len = (limits.max_message_size as usize).saturating_add(HEADER_LEN);
        Self { storage, len: HEADER_LEN, payload_at: None, max_len }
    }

    /// Start over: no annotations, no payload.
    pub(crate) fn reset(&mut self) {
        self.len = HEADER_LEN;
        self.payload_at = None;
    }

    /// Add an annotation chunk; only before the payload starts.
    pub(crate) fn annotate(&mut self, id: AnnotationId, value: &[u8]) -> Result<(), EncodeError> {
        if self.payload_at.is_some() {
            return Err(EncodeError::AnnotationsClosed);
        }
        let header = chunk_header(&Annotation::new(id, value))?;
        let start = self.len;
        self.put(&header).and_then(|()| self.put(value)).map_err(|_| {
            self.len = start;
            EncodeError::BufferTooSmall { required: start.saturating_add(header.len() + value.len()) }
        })
    }

    /// Add an annotation chunk whose value `value` writes (e.g. serializes) in place; only
    /// before the payload starts.
    #[cfg_attr(not(feature = "marshal"), allow(dead_code))]
    pub(crate) fn annotate_with(&mut self, id: AnnotationId, value: &WriteWith<'_>) -> Result<(), EncodeError> {
        if self.payload_at.is_some() {
            return Err(EncodeError::AnnotationsClosed);
        }
        let start = self.len;
        let header = chunk_header(&Annotation::new(id, &[]))?;
        let written = self.put(&header).and_then(|()| value(&mut AnnotationValue(self)));
        let len = self.len - start - header.len();
        match (written, u32::try_from(len)) {
            (Ok(()), Ok(len)) => {
                self.patch(start + 4, &len.to_be_bytes());
                Ok(())
            }
            _ => {
                self.len = start;
                Err(EncodeError::BufferTooSmall { required: start.saturating_add(header.len() + len) })
            }
        }
    }

    /// Add the chunks of `annotations`.
    pub(crate) fn annotate_all(&mut self, annotations: &[Annotation<'_>]) -> Result<(), EncodeError> {
        annotations.iter().try_for_each(|a| self.annotate(a.id, a.value))
    }

    /// Whether the payload has started.
    pub(crate) fn payload_started(&self) -> bool {
        self.payload_at.is_some()
    }

    /// Start the payload here (no more annotations).
    pub(crate) fn start_payload(&mut self) {
        if self.payload_at.is_none() {
            self.payload_at = Some(self.len);
        }
    }

    /// The current end of the message, to return to with [`truncate`](Self::truncate).
    pub(crate) fn mark(&self) -> usize {
        self.len
    }

    /// Drop what was written after `mark`.
    pub(crate) fn truncate(&mut self, mark: usize) {
        self.len = self.len.min(mark.max(self.payload_at.unwrap_or(HEADER_LEN)));
    }

    /// Overwrite bytes already written at `at`.
    pub(crate) fn patch(&mut self, at: usize, bytes: &[u8]) {
        if let Some(dst) = self.storage.reserve(self.len).and_then(|b| b.get_mut(at..at.saturating_add(bytes.len()))) {
            dst.copy_from_slice(bytes);
        }
    }

    /// Remove `n` bytes at `at`, moving what follows down.
    pub(crate) fn remove(&mut self, at: usize, n: usize) {
        let len = self.len;
        if let Some(buf) = self.storage.reserve(len)
            && at.saturating_add(n) <= len
        {
            buf.copy_within(at + n..len, at);
            self.len = len - n;
        }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        let end = self.len.saturating_add(bytes.len());
        let full = OutputError::BufferFull { capacity: self.storage.max_len().min(self.max_len) };
        if end > self.max_len {
            return Err(full);
        }
        let buf = self.storage.reserve(end).ok_or(full)?;
        buf.get_mut(self.len..end).ok_or(full)?.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Write the header and return the message's length: its bytes are the storage's first
    /// bytes.
    pub(crate) fn finish(&mut self, message: &OutgoingMessage<'_>, limits: Limits) -> Result<usize, EncodeError> {
        self.start_payload();
        let payload_at = self.payload_at.unwrap_or(HEADER_LEN);
        let annotations_len = u32::try_from(payload_at - HEADER_LEN)
            .map_err(|_| EncodeError::TooLarge { size: payload_at as u64, max: u64::from(limits.max_message_size) })?;
        let mut data_len = self.len - payload_at;
        let compressed = message.compress && crate::wire::compression::should_compress(data_len);
        // Deflate may grow incompressible data a little: room for that where storage grows.
        let room = if compressed { self.len.saturating_add(data_len / 1000 + 64).min(self.max_len) } else { self.len };
        if self.storage.reserve(room).is_none() {
            self.storage.reserve(self.len);
        }
        let buf = self.storage.reserve(self.len).ok_or(EncodeError::BufferTooSmall { required: self.len })?;
        if compressed {
            data_len = compress_in_place(buf, payload_at, self.len)?;
        }
        let data_len_field = check_size(data_len, annotations_len, limits)?;
        let header = message.header(data_len_field, annotations_len, compressed);
        let head = buf.first_chunk_mut::<HEADER_LEN>().ok_or(EncodeError::BufferTooSmall { required: HEADER_LEN })?;
        header.emit(head);
        self.len = payload_at + data_len;
        Ok(self.len)
    }
}

/// Writes an annotation's value into the frame (not its payload).
struct AnnotationValue<'f, 's>(&'f mut Frame<'s>);

impl Output for AnnotationValue<'_, '_> {
    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.0.put(bytes)
    }
}

impl Output for Frame<'_> {
    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.start_payload();
        self.put(bytes)
    }
}

//! The answer to one call, written straight into the transmit storage in the request's format
//! (`docs/objects.md`, "Objects and replies").

use serde::Serialize;

use super::exception::{ExceptionOut, Origin, PythonException, Raised, SERIALIZE_ERROR, StopIteration, WrappedOut};
use super::object::StreamCursor;
use crate::ser::{FormatError, item_to_output, to_output};
use crate::wire::frame::Frame;
use crate::wire::{AnnotationId, EncodeError, SerializerId};

/// Proof that a [`Reply`] was used: every path through an object's `invoke` ends in one.
#[derive(Debug)]
#[must_use = "return it from invoke"]
pub struct Replied(());

/// What the item method of a cursor stream returns, answering the client's request for the
/// next item: `Option<T>` (the item, or `None` at the end) or `Result<Option<T>, E>` (also
/// an exception to raise). `#[expose]` answers a `#[stream(next = f)]` stream's requests
/// with what `f` returns through it.
pub trait NextItem {
    /// Answer with the item, the end, or the exception.
    fn answer(self, reply: Reply<'_, '_>) -> Replied;
}

impl<T: Serialize> NextItem for Option<T> {
    fn answer(self, reply: Reply<'_, '_>) -> Replied {
        match self {
            Some(item) => reply.ok(&item),
            None => reply.stop(),
        }
    }
}

impl<T: Serialize, E: PythonException> NextItem for Result<Option<T>, E> {
    fn answer(self, reply: Reply<'_, '_>) -> Replied {
        match self {
            Ok(next) => next.answer(reply),
            Err(e) => reply.raise(&e),
        }
    }
}

impl Replied {
    /// For paths that provably replied already.
    pub(crate) fn reached() -> Self {
        Self(())
    }
}

/// How the call ended, for the connection to finish the message.
pub(crate) enum Outcome {
    /// Not answered (yet).
    Pending,
    /// A value was written.
    Value,
    /// An exception was written.
    Exception,
    /// The call returned an item stream, continued by the object's `next_item`.
    Stream(StreamCursor),
    /// The call returned an iterator the daemon drives.
    #[cfg(feature = "alloc")]
    Iter(super::streams::BoxedIter),
    /// The stream ended.
    Stop,
    /// The call goes on in a future (an async method).
    #[cfg(feature = "alloc")]
    Later(super::AsyncCall),
}

/// Where a reply goes.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Mode {
    /// The payload of a RESULT.
    Result,
    /// One element of a batch's result list.
    BatchItem,
    /// Nowhere: a oneway call.
    Discard,
}

/// The answer to one call: a value, a Python exception, or an item stream. Use it exactly
/// once.
pub struct Reply<'r, 's> {
    pub(crate) frame: &'r mut Frame<'s>,
    pub(crate) outcome: &'r mut Outcome,
    pub(crate) mode: Mode,
    pub(crate) format: SerializerId,
    pub(crate) class_name: &'r str,
    pub(crate) method: &'r str,
    pub(crate) daemon_annotations: &'r [crate::wire::Annotation<'r>],
    /// Whether the adapter runs futures (`later`).
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) later_allowed: bool,
}

impl core::fmt::Debug for Reply<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reply").field("format", &self.format).field("method", &self.method).finish_non_exhaustive()
    }
}

impl Reply<'_, '_> {
    /// The serializer the answer is written in (the request's).
    pub fn format(&self) -> SerializerId {
        self.format
    }

    /// Whether the answer goes nowhere (a oneway call): a method may skip work whose only
    /// purpose is the result.
    pub fn is_discarded(&self) -> bool {
        self.mode == Mode::Discard
    }

    /// Send annotation `id` with the reply (Pyro's `current_context.response_annotations`).
    ///
    /// # Errors
    /// [`EncodeError::AnnotationsClosed`] inside a batch (its reply has started),
    /// [`EncodeError::BufferTooSmall`] when the transmit storage is full.
    pub fn annotate(&mut self, id: AnnotationId, value: &[u8]) -> Result<(), EncodeError> {
        match self.mode {
            Mode::Discard => Ok(()),
            Mode::BatchItem => Err(EncodeError::AnnotationsClosed),
            Mode::Result => self.frame.annotate(id, value),
        }
    }

    /// Answer with `value`. When the value cannot be written in the request's format, the
    /// caller gets the format's error as an exception instead (as Pyro5 does).
    pub fn ok<T: ?Sized + Serialize>(mut self, value: &T) -> Replied {
        if self.mode == Mode::Discard {
            *self.outcome = Outcome::Value;
            return Replied(());
        }
        self.start();
        let mark = self.frame.mark();
        match self.write(value) {
            Ok(()) => {
                *self.outcome = Outcome::Value;
                Replied(())
            }
            Err(e) => {
                self.frame.truncate(mark);
                self.serialize_failed(&e)
            }
        }
    }

    fn serialize_failed(self, e: &FormatError) -> Replied {
        let class = if e.is_output() { "Pyro5.errors.ProtocolError" } else { e.pyro_class() };
        let class = if class.starts_with("builtins.") || class.starts_with("Pyro5.") { class } else { SERIALIZE_ERROR };
        self.raise(&Raised { class, message: format_args!("{e}") })
    }

    /// Answer with a Python exception of `e`'s class and message, with a remote traceback
    /// naming this method.
    pub fn raise(self, e: &dyn PythonException) -> Replied {
        let origin = Origin { class_name: self.class_name, method: self.method };
        self.raise_with(e, Some(origin))
    }

    pub(crate) fn raise_with(mut self, e: &dyn PythonException, origin: Option<Origin<'_>>) -> Replied {
        self.write_exception(e, origin);
        Replied(())
    }

    fn write_exception(&mut self, e: &dyn PythonException, origin: Option<Origin<'_>>) {
        *self.outcome = Outcome::Exception;
        if self.mode == Mode::Discard {
            return;
        }
        self.start();
        let mark = self.frame.mark();
        let exception = ExceptionOut { exception: e, origin };
        let written = match self.mode {
            Mode::BatchItem => self.write(&WrappedOut(exception)),
            _ => self.write(&exception),
        };
        if written.is_err() {
            // Even the exception does not fit: leave the payload empty; the connection
            // notices and closes rather than send a broken message.
            self.frame.truncate(mark);
            *self.outcome = Outcome::Pending;
        }
    }

    /// Answer with an item stream: the client iterates, and the daemon calls the object's
    /// [`next_item`](super::PyroObject::next_item) with `cursor` for each item.
    pub fn stream(self, cursor: StreamCursor) -> Replied {
        *self.outcome = Outcome::Stream(cursor);
        Replied(())
    }

    /// Answer with an iterator whose items the daemon sends one per request
    /// (`get_next_stream_item`), each converted to a [`Value`](crate::ser::value::Value).
    #[cfg(feature = "alloc")]
    pub fn stream_iter(self, iter: super::streams::BoxedIter) -> Replied {
        *self.outcome = Outcome::Iter(iter);
        Replied(())
    }

    /// Answer later, with what `call` ends with (an `async fn` method: `#[expose]` writes
    /// this). The connection holds the call until the adapter that runs futures hands the
    /// answer back; an adapter that runs none (or a batch) gets Pyro's error instead, which
    /// names the method.
    #[cfg(feature = "alloc")]
    pub fn later(self, call: super::AsyncCall) -> Replied {
        let function = super::Qualname { class_name: self.class_name, method: self.method };
        if self.mode == Mode::BatchItem {
            let message = format_args!("{function}() is an async method: it cannot be called in a batch");
            return self.raise(&Raised { class: super::PYRO_ERROR, message });
        }
        if !self.later_allowed {
            let message = format_args!(
                "{function}() is an async method, and this daemon runs no async methods (serve the object with an async daemon)"
            );
            return self.raise(&Raised { class: super::PYRO_ERROR, message });
        }
        *self.outcome = Outcome::Later(call);
        Replied(())
    }

    /// End an item stream (in [`next_item`](super::PyroObject::next_item)): the client's
    /// iteration stops.
    pub fn stop(mut self) -> Replied {
        self.write_exception(&StopIteration, Some(Origin { class_name: self.class_name, method: self.method }));
        if matches!(self.outcome, Outcome::Exception) {
            *self.outcome = Outcome::Stop;
        }
        Replied(())
    }

    /// Write `value` as the payload, or as one item of a batch's result list.
    fn write<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), FormatError> {
        match self.mode {
            Mode::BatchItem => item_to_output(self.format, value, self.frame),
            _ => to_output(self.format, value, self.frame),
        }
    }

    /// Lay out the payload: the daemon's annotations go first, then nothing more.
    pub(crate) fn start(&mut self) {
        if self.mode == Mode::Result && !self.frame.payload_started() {
            // Pyro's `Daemon.annotations()` follow the object's own.
            let _ = self.frame.annotate_all(self.daemon_annotations);
        }
        self.frame.start_payload();
    }
}

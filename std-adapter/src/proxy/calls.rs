//! Batches and remote iterators: several requests made of one proxy call.

use std::fmt;

use pyro5_core::client::{ItemStream, MAX_IN_FLIGHT, StreamItem};
use pyro5_core::ser::value::Value;
use pyro5_core::wire::StreamId;

use super::shared::Awaited;
use super::{Kind, Outcome, Proxy, ProxyError, RemoteError, decode_error, remote_error};
use crate::calling::{BatchCall, BatchCalls, Body};

/// Calls collected for one batch message (Pyro's `BatchProxy`).
pub struct Batch<'p> {
    pub(super) proxy: &'p Proxy,
    pub(super) calls: Vec<BatchCall>,
}

impl fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Batch of {} calls>", self.calls.len())
    }
}

impl Batch<'_> {
    /// Add a call of `method` with positional `args` and keyword `kwargs`.
    pub fn call(&mut self, method: &str, args: Vec<Value>, kwargs: Vec<(String, Value)>) -> &mut Self {
        self.calls.push((method.to_string(), args, kwargs));
        self
    }

    /// How many calls were added.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call was added.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Send the batch and return each call's result in order. A call that raised ends the
    /// list (the daemon stops there), as in Pyro.
    ///
    /// # Errors
    /// Connection and protocol errors; [`ProxyError::Remote`] when the daemon answered the
    /// whole batch with an exception (Python's daemon does so in marshal when a call
    /// raised: marshal cannot carry the exception wrapper, `ValueError: unmarshallable
    /// object`).
    pub fn run(self) -> Result<Vec<Result<Value, RemoteError>>, ProxyError> {
        let calls = BatchCalls(&self.calls);
        let outcome = self
            .proxy
            .invoke(Kind::Batch { oneway: false }, Body::Args(&calls, None::<&()>), &|body| body.batch_results())?;
        let Outcome::Value(results) = outcome else {
            return Err(ProxyError::Protocol(pyro5_core::client::ClientError::NotExpected));
        };
        Ok(results.into_iter().map(|r| r.map_err(|e| RemoteError::from_value(&e))).collect())
    }

    /// Send the batch oneway: nothing comes back.
    ///
    /// # Errors
    /// Connection errors.
    pub fn run_oneway(self) -> Result<(), ProxyError> {
        let calls = BatchCalls(&self.calls);
        self.proxy.invoke(Kind::Batch { oneway: true }, Body::Args(&calls, None::<&()>), &|_| Ok(())).map(drop)
    }
}

/// How many item requests a [`RemoteIter`] keeps waiting on the connection by default.
/// Their replies wait in the daemon's socket buffers while the proxy reads the first: a
/// daemon on a microcontroller has room for a few (an item stream's end answers each
/// request after it with an exception of a few hundred bytes). Against daemons on a full
/// OS, [`RemoteIter::prefetch`] of 16 or more pays off.
pub const DEFAULT_PREFETCH: usize = 4;

/// The items of a remote iterator. Requests for the next items are pipelined (up to
/// [`prefetch`](Self::prefetch) wait at once) and the items come back in order, so a stream
/// costs about one round trip per `prefetch` items instead of one per item; the daemon
/// produces up to that many items ahead of what was taken. Dropping it before the end closes
/// the stream on the daemon (a oneway `close_stream`, after the requests still on their
/// way, whose replies are dropped). Other threads may call through the same proxy meanwhile.
///
/// A stream belongs to its connection: once the proxy's connection is lost (or released)
/// the iterator yields [`ProxyError::ConnectionClosed`] and ends, as Pyro's
/// `_StreamResultIterator` does.
pub struct RemoteIter<'p> {
    proxy: &'p Proxy,
    stream: Option<ItemStream>,
    generation: u64,
}

impl fmt::Debug for RemoteIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<RemoteIter {:?}>", self.stream_id())
    }
}

impl<'p> RemoteIter<'p> {
    pub(super) fn new(proxy: &'p Proxy, id: StreamId, generation: u64) -> Self {
        Self { proxy, stream: Some(ItemStream::new(id, DEFAULT_PREFETCH)), generation }
    }

    /// Keep up to `requests` item requests waiting at once (1 to
    /// [`MAX_IN_FLIGHT`]; 1 fetches an item a round trip, as Pyro's proxy does).
    #[must_use]
    pub fn prefetch(mut self, requests: usize) -> Self {
        if let Some(stream) = &mut self.stream
            && stream.waiting() == 0
        {
            *stream = ItemStream::new(*stream.id(), requests.clamp(1, MAX_IN_FLIGHT));
        }
        self
    }

    /// The daemon's id of the stream, while it is open.
    pub fn stream_id(&self) -> Option<String> {
        self.stream.as_ref().filter(|s| !s.is_over()).map(|s| s.id().to_string())
    }

    fn next_item(&mut self, stream: &mut ItemStream) -> Result<Option<Value>, ProxyError> {
        let deadline = self.proxy.deadline();
        let deadline_ms = self.proxy.deadline_ms(deadline);
        // With no request waiting, one must be sent: wait for room among the calls in flight.
        let room = stream.waiting() == 0;
        self.proxy.send_on(self.generation, room, deadline, &mut |conn, extras| {
            stream.request(conn, extras, deadline_ms).map(drop)
        })?;
        let Some(seq) = stream.next_seq() else { return Err(ProxyError::ConnectionClosed) };
        let limits = self.proxy.limits;
        let taken =
            self.proxy.shared.receive(self.generation, Awaited::Call(seq), deadline, limits, &mut |reply| match stream
                .take(
                reply,
            )? {
                StreamItem::Item(body) => body.decode::<Value>().map(Some).map_err(decode_error),
                StreamItem::End => Ok(None),
                StreamItem::Raised(body) => Err(remote_error(body)),
            });
        if taken.is_err() && stream.next_seq() == Some(seq) {
            // Timed out or lost: that request will not be answered.
            stream.forget_next();
        }
        if let Err(ProxyError::Timeout) = taken {
            self.proxy.timed_out(self.generation);
        }
        taken
    }

    /// Give up the requests still waiting and, unless the daemon ended the stream, close it.
    fn close(&mut self, mut stream: ItemStream) {
        let _ =
            self.proxy.send_on(self.generation, false, None, &mut |conn, extras| stream.close(conn, extras).map(drop));
    }
}

impl Iterator for RemoteIter<'_> {
    type Item = Result<Value, ProxyError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut stream = self.stream.take()?;
        match self.next_item(&mut stream) {
            Ok(Some(item)) => {
                self.stream = Some(stream);
                Some(Ok(item))
            }
            Ok(None) => {
                self.close(stream);
                None
            }
            Err(e) => {
                self.close(stream);
                Some(Err(e))
            }
        }
    }
}

impl Drop for RemoteIter<'_> {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            self.close(stream);
        }
    }
}

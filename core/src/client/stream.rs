//! Iterating an item stream (a remote method that returned an iterator): Pyro's
//! `get_next_stream_item` requests, several at once (prefetch), the stream's end, and
//! `close_stream` when a client stops early.

use super::{CallSpec, ClientConnection, ClientError, Extras, MAX_IN_FLIGHT, Payload, Reply};
use crate::ser::envelope::DAEMON_OBJECT_ID;
use crate::wire::{RxStorage, StreamId};

/// The most bytes of item requests queued at once past the first: a daemon with small socket
/// buffers (a microcontroller) could otherwise fill them with replies while the proxy still
/// writes, and both would wait for the other.
pub const PIPELINE_BYTES: usize = 1024;

/// What one `get_next_stream_item` reply means.
#[derive(Clone, Copy, Debug)]
pub enum StreamItem<'m> {
    /// The next item.
    Item(Payload<'m>),
    /// The iterator is exhausted (the daemon raised `StopIteration` and closed the stream).
    End,
    /// The daemon raised this exception (the remote iterator raised, or the stream is
    /// unknown or expired).
    Raised(Payload<'m>),
}

impl<'m> Reply<'m> {
    /// This reply as the answer to a `get_next_stream_item` request.
    ///
    /// # Errors
    /// [`ClientError::NotExpected`] for a reply that is no item (a stream, a batch, a pong);
    /// [`ClientError::Payload`] for an exception that does not read.
    pub fn into_item(self) -> Result<StreamItem<'m>, ClientError> {
        match self {
            Reply::Value(body) => Ok(StreamItem::Item(body)),
            Reply::Exception(body) if body.exception()?.class == "builtins.StopIteration" => Ok(StreamItem::End),
            Reply::Exception(body) => Ok(StreamItem::Raised(body)),
            _ => Err(ClientError::NotExpected),
        }
    }
}

/// A remote iterator's requests: up to `prefetch` `get_next_stream_item` requests wait on
/// the connection at once, their replies taken in order, so a stream costs about one round
/// trip per `prefetch` items instead of one per item (the daemon produces that many items
/// ahead). [`close`](Self::close) ends it early as Pyro's proxy does.
#[derive(Clone, Debug)]
pub struct ItemStream {
    id: StreamId,
    waiting: heapless::Deque<u16, MAX_IN_FLIGHT>,
    prefetch: usize,
    over: bool,
}

impl ItemStream {
    /// The stream `id` (from [`Reply::Stream`]), keeping up to `prefetch` requests waiting
    /// (1 to [`MAX_IN_FLIGHT`]; 1 is Pyro's one round trip per item).
    pub fn new(id: StreamId, prefetch: usize) -> Self {
        Self { id, waiting: heapless::Deque::new(), prefetch: prefetch.clamp(1, MAX_IN_FLIGHT), over: false }
    }

    /// The stream's id.
    pub fn id(&self) -> &StreamId {
        &self.id
    }

    /// Whether the stream is over: exhausted or closed.
    pub fn is_over(&self) -> bool {
        self.over
    }

    /// How many requests wait for their replies.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Queue item requests until `prefetch` wait (as many as the connection has room for,
    /// at most [`PIPELINE_BYTES`] past the first); how many were queued.
    ///
    /// # Errors
    /// As [`ClientConnection::call`]; none is returned once one request was queued.
    pub fn request<R: RxStorage, T: RxStorage>(
        &mut self,
        conn: &mut ClientConnection<R, T>,
        extras: &Extras<'_>,
        deadline_ms: Option<u64>,
    ) -> Result<usize, ClientError> {
        let text = self.id.to_text();
        let id = core::str::from_utf8(&text).unwrap_or_default();
        let call = CallSpec::method(DAEMON_OBJECT_ID, "get_next_stream_item");
        let start = conn.tx_pending().len();
        let mut queued = 0;
        while !self.over && self.waiting.len() < self.prefetch && conn.has_room() {
            // One more request of the same size would take the bytes past the first to this.
            if queued > 0 && conn.tx_pending().len() - start > PIPELINE_BYTES {
                break;
            }
            match conn.call(&call, &(id,), None::<&()>, extras, deadline_ms) {
                Ok(sent) => {
                    let _ = self.waiting.push_back(sent.seq);
                    queued += 1;
                }
                Err(e) if queued == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(queued)
    }

    /// The sequence number of the request whose reply comes next in the stream's order.
    pub fn next_seq(&self) -> Option<u16> {
        self.waiting.front().copied()
    }

    /// Take the reply to [`next_seq`](Self::next_seq). At the end of the stream it is over
    /// (no `close_stream` is due then); [`close`](Self::close) it still, to give up the
    /// requests sent past the end.
    ///
    /// # Errors
    /// As [`Reply::into_item`].
    pub fn take<'m>(&mut self, reply: Reply<'m>) -> Result<StreamItem<'m>, ClientError> {
        self.waiting.pop_front();
        let item = reply.into_item();
        if matches!(item, Ok(StreamItem::End)) {
            self.over = true;
        }
        item
    }

    /// The request [`next_seq`](Self::next_seq) will never be answered (it timed out, or its
    /// connection is gone): forget it.
    pub fn forget_next(&mut self) {
        self.waiting.pop_front();
    }

    /// Stop iterating: the requests still waiting are given up (their replies dropped as
    /// they come) and, unless the daemon ended the stream itself, a oneway `close_stream` is
    /// queued, after those requests, as Pyro's proxy does. Whether it was queued.
    ///
    /// # Errors
    /// As [`ClientConnection::call`] (the connection is over, or the request did not fit).
    pub fn close<R: RxStorage, T: RxStorage>(
        &mut self,
        conn: &mut ClientConnection<R, T>,
        extras: &Extras<'_>,
    ) -> Result<bool, ClientError> {
        while let Some(seq) = self.waiting.pop_front() {
            conn.abandon(seq);
        }
        if core::mem::replace(&mut self.over, true) {
            return Ok(false);
        }
        let text = self.id.to_text();
        let id = core::str::from_utf8(&text).unwrap_or_default();
        let call = CallSpec { object: DAEMON_OBJECT_ID, method: "close_stream", oneway: true, batch: false };
        conn.call(&call, &(id,), None::<&()>, extras, None).map(|_| true)
    }
}

//! Batches and remote iterators: several requests made of one proxy call.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pyro5_core::client::{ClientError, ItemStream, MAX_IN_FLIGHT, Payload, StreamItem};
use pyro5_core::ser::value::Value;
use pyro5_core::wire::StreamId;
use pyro5_std::{ProxyError, RemoteError};

use super::link::{Link, Pending};
use super::{Outcome, Proxy};
use pyro5_std::calling::{
    BatchCall, BatchCalls, Body, Kind, annotations_of, decode_error, read_kept_reply as read_reply, remote_error,
};

/// Calls collected for one batch message (Pyro's `BatchProxy`), from [`Proxy::batch`].
pub struct Batch {
    proxy: Proxy,
    calls: Vec<BatchCall>,
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Batch of {} calls>", self.calls.len())
    }
}

impl Batch {
    pub(super) fn new(proxy: Proxy) -> Self {
        Self { proxy, calls: Vec::new() }
    }

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

    /// Send the batch and return each call's result in order (as `pyro5_std::Batch::run`).
    /// A call that raised ends the list (the daemon stops there), as in Pyro.
    ///
    /// # Errors
    /// Connection and protocol errors; [`ProxyError::Remote`] when the daemon answered the
    /// whole batch with an exception (Python's daemon does in marshal when a call raised).
    pub async fn run(self) -> Result<Vec<Result<Value, RemoteError>>, ProxyError> {
        let calls = BatchCalls(&self.calls);
        let outcome = self
            .proxy
            .invoke(Kind::Batch { oneway: false }, Body::Args(&calls, None::<&()>), &|body: Payload<'_>| {
                body.batch_results()
            })
            .await?;
        let Outcome::Value(results) = outcome else {
            return Err(ProxyError::Protocol(ClientError::NotExpected));
        };
        Ok(results.into_iter().map(|r| r.map_err(|e| RemoteError::from_value(&e))).collect())
    }

    /// Send the batch oneway: nothing comes back.
    ///
    /// # Errors
    /// Connection errors.
    pub async fn run_oneway(self) -> Result<(), ProxyError> {
        let calls = BatchCalls(&self.calls);
        self.proxy
            .invoke(Kind::Batch { oneway: true }, Body::Args(&calls, None::<&()>), &|_: Payload<'_>| Ok(()))
            .await
            .map(drop)
    }
}

/// How many item requests a [`RemoteStream`] keeps waiting on the connection by default
/// (as pyro5-std's `RemoteIter`).
pub const DEFAULT_PREFETCH: usize = pyro5_std::DEFAULT_PREFETCH;

/// The next item, with the stream's state handed back.
type Next = Pin<Box<dyn Future<Output = (StreamState, Option<Result<Value, ProxyError>>)> + Send>>;

/// The items of a remote iterator, as a [`Stream`](futures_core::Stream). Requests for the
/// next items are pipelined (up to [`prefetch`](Self::prefetch) wait at once) and the items
/// come in order. Dropping it before the end (or dropping the future of the item being
/// waited for) closes the stream on the daemon: a oneway `close_stream` goes after the
/// requests still on their way, whose replies are dropped. Other tasks may call through the
/// same proxy meanwhile.
///
/// A stream belongs to its connection: once that is lost, the stream yields
/// [`ProxyError::ConnectionClosed`] and ends, as Pyro's `_StreamResultIterator` does. An
/// error ends the stream.
pub struct RemoteStream {
    state: Option<StreamState>,
    next: Option<Next>,
}

impl fmt::Debug for RemoteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<RemoteStream {:?}>", self.stream_id())
    }
}

/// What a [`RemoteStream`] keeps between items.
struct StreamState {
    proxy: Proxy,
    link: Arc<Link>,
    stream: ItemStream,
    /// The sequence numbers of the item requests waiting, in order.
    seqs: VecDeque<u16>,
    /// Closed on the connection (or ended): nothing more is asked.
    closed: bool,
}

impl RemoteStream {
    pub(super) fn new(proxy: Proxy, link: Arc<Link>, id: StreamId) -> Self {
        let state = StreamState {
            proxy,
            link,
            stream: ItemStream::new(id, DEFAULT_PREFETCH),
            seqs: VecDeque::new(),
            closed: false,
        };
        Self { state: Some(state), next: None }
    }

    /// Keep up to `requests` item requests waiting at once (1 to [`MAX_IN_FLIGHT`]; 1
    /// fetches an item a round trip, as Pyro's proxy does). Before the first item.
    #[must_use]
    pub fn prefetch(mut self, requests: usize) -> Self {
        if let Some(state) = &mut self.state
            && state.stream.waiting() == 0
        {
            state.stream = ItemStream::new(*state.stream.id(), requests.clamp(1, MAX_IN_FLIGHT));
        }
        self
    }

    /// The daemon's id of the stream, while it is open (and no item is being waited for).
    pub fn stream_id(&self) -> Option<String> {
        self.state.as_ref().filter(|s| !s.stream.is_over()).map(|s| s.stream.id().to_string())
    }

    /// Every item left, in order.
    ///
    /// # Errors
    /// The first error.
    pub async fn collect_all(mut self) -> Result<Vec<Value>, ProxyError> {
        let mut items = Vec::new();
        while let Some(state) = self.state.take() {
            let (state, item) = state.next().await;
            match item {
                Some(Ok(item)) => items.push(item),
                Some(Err(e)) => return Err(e),
                None => return Ok(items),
            }
            self.state = Some(state);
        }
        Ok(items)
    }
}

impl futures_core::Stream for RemoteStream {
    type Item = Result<Value, ProxyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let next = match &mut this.next {
            Some(next) => next,
            None => {
                let Some(state) = this.state.take() else { return Poll::Ready(None) };
                this.next.insert(Box::pin(state.next()))
            }
        };
        match next.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready((state, item)) => {
                this.next = None;
                if item.is_some() {
                    this.state = Some(state);
                }
                Poll::Ready(item)
            }
        }
    }
}

impl StreamState {
    /// The next item (`None` at the end), and this state back.
    async fn next(mut self) -> (Self, Option<Result<Value, ProxyError>>) {
        if self.closed || self.stream.is_over() {
            self.close();
            return (self, None);
        }
        let item = self.fetch().await;
        if let Err(ProxyError::Timeout) = &item {
            self.proxy.timed_out(&self.link);
        }
        match item {
            Ok(Some(value)) => (self, Some(Ok(value))),
            Ok(None) => {
                self.close();
                (self, None)
            }
            Err(e) => {
                self.close();
                (self, Some(Err(e)))
            }
        }
    }

    async fn fetch(&mut self) -> Result<Option<Value>, ProxyError> {
        let proxy = self.proxy.clone();
        let deadline = proxy.deadline();
        let deadline_ms = proxy.deadline_ms(deadline);
        let annotations = annotations_of(&proxy.settings.annotations);
        let extras = proxy.extras(&annotations);
        let serializer = proxy.settings.serializer;
        let Self { link, stream, seqs, .. } = self;
        let waiting = stream.waiting();
        let mut request = |state: &mut super::link::LinkState| -> Result<(), ProxyError> {
            state.conn.set_serializer(serializer);
            let before = state.conn.seq();
            let queued = stream.request(&mut state.conn, &extras, deadline_ms)?;
            // Each call takes the next sequence number.
            seqs.extend((1..=queued).map(|i| before.wrapping_add(u16::try_from(i).unwrap_or(u16::MAX))));
            Ok(())
        };
        if waiting == 0 {
            // One request must go: wait for room among the calls in flight.
            link.with_room(deadline, &mut request).await?;
        } else {
            let mut state = link.lock();
            if !state.is_closed() {
                // More requests as room allows; the waiting ones carry the stream on.
                let _ = request(&mut state);
                drop(state);
                link.queued();
            }
        }
        let Some(seq) = stream.next_seq() else { return Err(ProxyError::ConnectionClosed) };
        let rx = {
            let mut state = link.lock();
            if state.is_closed() {
                return Err(ProxyError::ConnectionClosed);
            }
            state.register(seq)
        };
        let answer = Pending::new(link.clone(), seq, rx).wait(deadline).await;
        seqs.pop_front();
        let bytes = match answer {
            Ok(bytes) => bytes,
            Err(e) => {
                // That request will not be answered.
                stream.forget_next();
                return Err(e);
            }
        };
        let (item, _) = read_reply(&bytes, proxy.settings.limits, |reply| match stream.take(reply) {
            Ok(StreamItem::Item(body)) => body.decode::<Value>().map(Some).map_err(decode_error),
            Ok(StreamItem::End) => Ok(None),
            Ok(StreamItem::Raised(body)) => Err(remote_error(body)),
            Err(e) => Err(ProxyError::Protocol(e)),
        })?;
        item
    }

    /// Give up the requests still waiting and, unless the daemon ended the stream, close it
    /// (a oneway `close_stream`).
    fn close(&mut self) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        let annotations = annotations_of(&self.proxy.settings.annotations);
        let extras = self.proxy.extras(&annotations);
        let mut state = self.link.lock();
        if state.is_closed() {
            return;
        }
        for seq in self.seqs.drain(..) {
            state.forget(seq);
        }
        state.conn.set_serializer(self.proxy.settings.serializer);
        let _ = self.stream.close(&mut state.conn, &extras);
        drop(state);
        self.link.queued();
    }
}

impl Drop for StreamState {
    fn drop(&mut self) {
        self.close();
    }
}

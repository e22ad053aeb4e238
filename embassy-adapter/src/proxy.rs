//! Calling Pyro objects from the device: a proxy over one embassy-net [`TcpSocket`],
//! driving the core's [`ClientConnection`].
//!
//! Every Pyro client rule lives in the core, shared with the std proxy: which names may be
//! called ([`ObjectMetadata`]), which methods are oneway, item streams ([`ItemStream`]),
//! reply matching and given-up calls ([`ClientConnection`]). This file moves bytes and waits.

use core::fmt;

use embassy_net::tcp::{ConnectError, TcpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_time::{Duration, Instant, with_deadline, with_timeout};
use pyro5_core::client::{
    CallSpec, ClientConnection, ClientError, ClientEvent, Extras, ItemStream, ObjectMetadata, PackedNames, Reply,
    StreamItem,
};
use pyro5_core::limits::Limits;
use pyro5_core::ser::envelope::RemoteException;
use pyro5_core::wire::SerializerId;
use serde::de::IntoDeserializer;
use serde::{Deserialize, Serialize};

use crate::storage::ConnectionStorage;

/// Bytes a [`Proxy`] keeps for each of the object's three name sets (methods, oneway
/// methods, properties), unless it is made with [`Proxy::connect_sized`]: 768 bytes in all,
/// room for about 40 names of 12 characters per set.
pub const METADATA_BYTES: usize = 256;

/// How many `get_next_stream_item` requests a stream from [`Proxy::call_stream`] keeps
/// waiting, unless [`Proxy::set_prefetch`] says otherwise: small, since a microcontroller's
/// socket buffers are (every item costs a round trip with 1).
pub const DEFAULT_PREFETCH: usize = 2;

/// Why a proxy call failed. Borrows the reply (a remote exception's texts) until the next
/// call.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyError<'r> {
    /// The TCP connection could not be made.
    Connect(ConnectError),
    /// The daemon did not answer within the proxy's timeout (Pyro's `TimeoutError`). The
    /// call is given up (its reply, if it still comes, is dropped) and the connection stays
    /// usable; only a handshake that times out leaves no connection.
    Timeout,
    /// The connection is closed (by the daemon, the network, or an earlier transport or
    /// protocol error).
    Closed,
    /// The call was refused before anything was sent ([`ClientError::NotExposed`]: the
    /// object's metadata has no such method or property; arguments too large for the message
    /// storage), or the daemon's bytes could not be handled (refused handshake, a reply out of
    /// order: the connection is closed then), or a reply that is not the type asked for.
    Protocol(ClientError),
    /// The remote method raised this Python exception.
    Remote(RemoteException<'r>),
    /// The method is oneway (the object's metadata says so): nothing comes back, so the
    /// result can only be read as Python's `None` (`()`, `Option<_>`, `IgnoredAny`). Nothing
    /// was sent.
    Oneway,
    /// The stream's items requested ahead were given up by another call on the same proxy
    /// (replies come in order and cannot be kept aside): the stream is closed. Interleave
    /// calls with a stream's items only at prefetch 1.
    StreamInterrupted,
}

impl ProxyError<'_> {
    /// The Python exception class Pyro5's proxy raises in the same situation.
    pub fn pyro_class(&self) -> &str {
        match self {
            Self::Connect(_) | Self::Closed => "Pyro5.errors.CommunicationError",
            Self::Timeout => "Pyro5.errors.TimeoutError",
            Self::Protocol(e) => e.pyro_class(),
            Self::Remote(e) => e.class,
            Self::Oneway | Self::StreamInterrupted => "Pyro5.errors.PyroError",
        }
    }
}

impl fmt::Display for ProxyError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "cannot connect: {e:?}"),
            Self::Timeout => f.write_str("receiving: timeout"),
            Self::Closed => f.write_str("the connection is closed"),
            Self::Protocol(e) => write!(f, "{e}"),
            Self::Remote(e) => match e.message {
                Some(m) => write!(f, "{}: {m}", e.class),
                None => f.write_str(e.class),
            },
            Self::Oneway => f.write_str("the method is oneway: its result is always None"),
            Self::StreamInterrupted => f.write_str("the stream's items requested ahead were given up by another call"),
        }
    }
}

impl From<ClientError> for ProxyError<'_> {
    fn from(e: ClientError) -> Self {
        Self::Protocol(e)
    }
}

/// What the proxy waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wanted {
    Connected,
    Reply(u16),
    Pong,
}

/// The connection's storage: a message's worth each way, from [`ConnectionStorage`].
type Connection<'a> = ClientConnection<&'a mut [u8], &'a mut [u8]>;

/// A connection to one remote Pyro object, with storage from the caller (no allocator).
///
/// The object's metadata (from the handshake) is kept in `NAMES` bytes per name set
/// ([`METADATA_BYTES`] by default; [`connect_sized`](Self::connect_sized) picks another), and
/// Pyro's proxy rules follow from it: a name the object does not expose is refused before
/// anything is sent ([`ClientError::NotExposed`]), methods it marks oneway are sent oneway,
/// properties are checked against its attributes.
///
/// Every wait is bounded by the proxy's timeout. A call that times out is given up and the
/// connection stays usable (its late reply is dropped when it comes); a transport or
/// protocol error closes the connection, and further calls fail with
/// [`ProxyError::Closed`] (connect a new proxy to retry).
pub struct Proxy<'a, const NAMES: usize = METADATA_BYTES> {
    socket: TcpSocket<'a>,
    conn: Connection<'a>,
    metadata: ObjectMetadata<PackedNames<NAMES>>,
    object: &'a str,
    timeout: Duration,
    prefetch: usize,
    /// The item requests of the stream iterated last that still wait: given up by any other
    /// call that waits for a reply.
    ahead: heapless::Vec<u16, { pyro5_core::client::MAX_IN_FLIGHT }>,
    open: bool,
}

impl<const NAMES: usize> fmt::Debug for Proxy<'_, NAMES> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("object", &self.object)
            .field("open", &self.open)
            .field("connection", &self.conn)
            .finish_non_exhaustive()
    }
}

impl<'a> Proxy<'a> {
    /// Connect to object `object` of the daemon at `daemon` and do Pyro's handshake, in
    /// `serializer` (json and serpent work with no allocator; so do marshal and msgpack),
    /// keeping the object's metadata in [`METADATA_BYTES`] per name set.
    ///
    /// # Errors
    /// [`ProxyError::Connect`], [`ProxyError::Timeout`], or the daemon's refusal
    /// ([`ClientError::Rejected`], e.g. an unknown object); [`ClientError::NothingExposed`]
    /// for an object that exposes nothing, [`ClientError::MetadataTooLarge`] for names that do
    /// not fit (see [`connect_sized`](Self::connect_sized)).
    pub async fn connect<const SOCKET: usize, const MESSAGE: usize>(
        stack: Stack<'a>,
        daemon: impl Into<IpEndpoint>,
        object: &'a str,
        serializer: SerializerId,
        timeout: Duration,
        storage: &'a mut ConnectionStorage<SOCKET, MESSAGE>,
    ) -> Result<Self, ProxyError<'static>> {
        Self::connect_sized(stack, daemon, object, serializer, timeout, storage).await
    }
}

impl<'a, const NAMES: usize> Proxy<'a, NAMES> {
    /// [`connect`](Proxy::connect) keeping the object's metadata in `NAMES` bytes per name
    /// set (each name costs its length and one byte): `Proxy::<'_, 1024>::connect_sized(..)`.
    ///
    /// # Errors
    /// As for [`connect`](Proxy::connect).
    pub async fn connect_sized<const SOCKET: usize, const MESSAGE: usize>(
        stack: Stack<'a>,
        daemon: impl Into<IpEndpoint>,
        object: &'a str,
        serializer: SerializerId,
        timeout: Duration,
        storage: &'a mut ConnectionStorage<SOCKET, MESSAGE>,
    ) -> Result<Self, ProxyError<'static>> {
        let ConnectionStorage { socket_rx, socket_tx, request, reply } = storage;
        // No smoltcp timeout on the socket: every wait below is bounded by `timeout` already,
        // and a socket timing out at the same moment would turn a `Timeout` into `Closed`.
        let mut socket = TcpSocket::new(stack, socket_rx, socket_tx);
        match with_timeout(timeout, socket.connect(daemon.into())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(ProxyError::Connect(e)),
            Err(_) => return Err(ProxyError::Timeout),
        }
        let mut proxy = Self {
            socket,
            conn: ClientConnection::new(serializer, &mut reply[..], &mut request[..], Limits::default()),
            metadata: ObjectMetadata::default(),
            object,
            timeout,
            prefetch: DEFAULT_PREFETCH,
            ahead: heapless::Vec::new(),
            open: true,
        };
        let (now, deadline) = proxy.deadline();
        let handshake = match proxy.conn.connect(object, &"hello", &Extras::default(), now, Some(deadline)) {
            Ok(()) => match proxy.flush(deadline).await {
                Ok(()) => proxy.exchange(Wanted::Connected, deadline).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(ProxyError::Protocol(e)),
        };
        let metadata = handshake.and_then(|()| match proxy.conn.connected() {
            Some(connected) => ObjectMetadata::read(&connected).map_err(ProxyError::Protocol),
            None => Err(ProxyError::Protocol(ClientError::NotExpected)),
        });
        match metadata {
            Ok(metadata) => {
                proxy.metadata = metadata;
                Ok(proxy)
            }
            Err(e) => {
                proxy.close().await;
                Err(e)
            }
        }
    }

    /// The object id this proxy calls.
    pub fn object(&self) -> &str {
        self.object
    }

    /// The object's metadata, as its daemon sent it in the handshake: its exposed methods,
    /// oneway methods and properties.
    pub fn metadata(&self) -> &ObjectMetadata<PackedNames<NAMES>> {
        &self.metadata
    }

    /// Whether the connection is still usable.
    pub fn is_open(&self) -> bool {
        self.open && !self.conn.is_closed()
    }

    /// The longest any call waits.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Wait at most `timeout` from the next call on.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// How many item requests the streams of [`call_stream`](Self::call_stream) keep waiting.
    pub fn prefetch(&self) -> usize {
        self.prefetch
    }

    /// Keep `prefetch` item requests waiting in the streams of later
    /// [`call_stream`](Self::call_stream)s (1 is Pyro's one round trip per item, and lets
    /// other calls interleave with the stream's items; at most
    /// [`MAX_IN_FLIGHT`](pyro5_core::client::MAX_IN_FLIGHT)).
    pub fn set_prefetch(&mut self, prefetch: usize) {
        self.prefetch = prefetch.clamp(1, pyro5_core::client::MAX_IN_FLIGHT);
    }

    /// Call `method` with positional `args` (a tuple or slice;
    /// [`NO_ARGS`](pyro5_core::client::NO_ARGS) for none) and read its result as `R` (which
    /// may borrow strings and bytes from the reply).
    ///
    /// A method the object's metadata marks oneway is sent oneway and not waited for, as
    /// Pyro's proxy does: its result is Python's `None` at once, so `R` must read `None`
    /// (`()`, `Option<_>`, `IgnoredAny`), or [`ProxyError::Oneway`] is returned and nothing is
    /// sent.
    ///
    /// # Errors
    /// [`ProxyError::Remote`] when the method raised; [`ClientError::NotExposed`] (nothing
    /// sent) when the object exposes no such method; the others as documented there.
    pub async fn call<'r, A, R>(&'r mut self, method: &str, args: &A) -> Result<R, ProxyError<'r>>
    where
        A: ?Sized + Serialize,
        R: Deserialize<'r>,
    {
        self.call_kw(method, args, None::<&()>).await
    }

    /// [`call`](Self::call) with keyword arguments (a map or struct).
    ///
    /// # Errors
    /// As for [`call`](Self::call).
    pub async fn call_kw<'r, A, K, R>(
        &'r mut self,
        method: &str,
        args: &A,
        kwargs: Option<&K>,
    ) -> Result<R, ProxyError<'r>>
    where
        A: ?Sized + Serialize,
        K: ?Sized + Serialize,
        R: Deserialize<'r>,
    {
        let spec = self.metadata.method(self.object, method, false)?;
        if spec.oneway {
            let none =
                R::deserialize(().into_deserializer()).map_err(|_: serde::de::value::Error| ProxyError::Oneway)?;
            self.invoke(&spec, args, kwargs).await?;
            return Ok(none);
        }
        self.invoke(&spec, args, kwargs).await?;
        match self.conn.reply() {
            Some(Reply::Value(body)) => Ok(body.decode()?),
            Some(Reply::Exception(body)) => Err(ProxyError::Remote(body.exception()?)),
            _ => Err(ProxyError::Protocol(ClientError::NotExpected)),
        }
    }

    /// Call `method` oneway (Pyro's `_pyroOneway.add`): sent, not waited for, whatever the
    /// metadata says.
    ///
    /// # Errors
    /// [`ClientError::NotExposed`] (nothing sent), arguments that do not fit, transport
    /// errors.
    pub async fn oneway<A: ?Sized + Serialize>(&mut self, method: &str, args: &A) -> Result<(), ProxyError<'static>> {
        let spec = self.metadata.method(self.object, method, true)?;
        self.invoke(&spec, args, None::<&()>).await
    }

    /// Read the remote attribute (property) `name`.
    ///
    /// # Errors
    /// As for [`call`](Self::call); [`ClientError::NotExposed`] (nothing sent) when the
    /// object exposes no such property.
    pub async fn get_attr<'r, R: Deserialize<'r>>(&'r mut self, name: &str) -> Result<R, ProxyError<'r>> {
        let spec = self.metadata.get_attr(self.object, name)?;
        self.invoke(&spec, &(name,), None::<&()>).await?;
        match self.conn.reply() {
            Some(Reply::Value(body)) => Ok(body.decode()?),
            Some(Reply::Exception(body)) => Err(ProxyError::Remote(body.exception()?)),
            _ => Err(ProxyError::Protocol(ClientError::NotExpected)),
        }
    }

    /// Set the remote attribute (property) `name`.
    ///
    /// # Errors
    /// As for [`get_attr`](Self::get_attr).
    pub async fn set_attr<'r, V: ?Sized + Serialize>(
        &'r mut self,
        name: &str,
        value: &V,
    ) -> Result<(), ProxyError<'r>> {
        let spec = self.metadata.set_attr(self.object, name)?;
        self.invoke(&spec, &(name, value), None::<&()>).await?;
        match self.conn.reply() {
            Some(Reply::Value(_)) => Ok(()),
            Some(Reply::Exception(body)) => Err(ProxyError::Remote(body.exception()?)),
            _ => Err(ProxyError::Protocol(ClientError::NotExpected)),
        }
    }

    /// Call a method that returns an iterator: its stream, for [`next_item`](Self::next_item),
    /// which keeps [`prefetch`](Self::prefetch) item requests waiting.
    ///
    /// # Errors
    /// As for [`call`](Self::call); a method that returned a plain value, or a oneway one, is
    /// a protocol error.
    pub async fn call_stream<'r, A: ?Sized + Serialize>(
        &'r mut self,
        method: &str,
        args: &A,
    ) -> Result<ItemStream, ProxyError<'r>> {
        let spec = self.metadata.method(self.object, method, false)?;
        if spec.oneway {
            return Err(ProxyError::Oneway);
        }
        self.invoke(&spec, args, None::<&()>).await?;
        match self.conn.reply() {
            Some(Reply::Stream { id, .. }) => Ok(ItemStream::new(id, self.prefetch)),
            Some(Reply::Exception(body)) => Err(ProxyError::Remote(body.exception()?)),
            _ => Err(ProxyError::Protocol(ClientError::NotExpected)),
        }
    }

    /// The next item of `stream`, or `None` once it is exhausted (or closed). Requests for the
    /// next items are sent ahead, up to the stream's prefetch.
    ///
    /// Replies come in request order, so another call waiting for its reply (or another
    /// stream's items) gives up this stream's requests sent ahead: its next `next_item` then
    /// closes it and fails with [`ProxyError::StreamInterrupted`]. A stream whose item timed
    /// out is closed as well (items may have been lost).
    ///
    /// # Errors
    /// [`ProxyError::Remote`] when the iterator raised (or the daemon no longer has the
    /// stream: `item stream terminated`); as for [`call`](Self::call).
    pub async fn next_item<'r, R: Deserialize<'r>>(
        &'r mut self,
        stream: &mut ItemStream,
    ) -> Result<Option<R>, ProxyError<'r>> {
        self.usable()?;
        let (_, deadline) = self.deadline();
        if stream.next_seq().is_some() && !self.owns_ahead(stream) {
            stream.close(&mut self.conn, &Extras::default())?;
            self.flush(deadline).await?;
            return Err(ProxyError::StreamInterrupted);
        }
        if stream.is_over() {
            return Ok(None);
        }
        if stream.next_seq().is_none() {
            // What waits ahead is another stream's.
            self.give_up_ahead();
        }
        let before = self.conn.seq();
        // No deadline in the core for requests sent ahead: each is waited for with its own
        // timeout, from when the caller asks for it.
        let queued = stream.request(&mut self.conn, &Extras::default(), None)?;
        for n in 1..=queued {
            let _ = self.ahead.push(before.wrapping_add(u16::try_from(n).unwrap_or(u16::MAX)));
        }
        let Some(seq) = stream.next_seq() else { return Err(ProxyError::Protocol(ClientError::NotExpected)) };
        let waited = match self.flush(deadline).await {
            Ok(()) => self.exchange(Wanted::Reply(seq), deadline).await,
            Err(e) => Err(e),
        };
        if let Err(e) = waited {
            stream.forget_next();
            if self.is_open() {
                // The rest of its requests ahead are given up, the stream closed.
                self.ahead.clear();
                if stream.close(&mut self.conn, &Extras::default()).is_ok() {
                    let _ = self.flush(deadline).await;
                }
            }
            return Err(e);
        }
        self.ahead.retain(|s| *s != seq);
        let ended = self.conn.reply().map(Reply::into_item);
        match ended {
            Some(Ok(StreamItem::End)) => {}
            Some(Ok(_)) => {
                return match self.conn.reply().map(|reply| stream.take(reply)) {
                    Some(Ok(StreamItem::Item(body))) => Ok(Some(body.decode()?)),
                    Some(Ok(StreamItem::Raised(body))) => Err(ProxyError::Remote(body.exception()?)),
                    Some(Err(e)) => Err(ProxyError::Protocol(e)),
                    _ => Err(ProxyError::Protocol(ClientError::NotExpected)),
                };
            }
            Some(Err(e)) => return Err(ProxyError::Protocol(e)),
            None => return Err(ProxyError::Protocol(ClientError::NotExpected)),
        }
        // The end (the daemon closed the stream itself): the requests sent past it are given
        // up, and no close_stream is due.
        if let Some(reply) = self.conn.reply() {
            let _ = stream.take(reply);
        }
        let _ = stream.close(&mut self.conn, &Extras::default());
        self.ahead.clear();
        Ok(None)
    }

    /// Stop iterating `stream` (as Pyro's proxy does when an iterator is dropped): its
    /// requests sent ahead are given up and, unless it ended, the daemon is told with a oneway
    /// `close_stream`, which frees its stream slot at once.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn close_stream(&mut self, stream: &mut ItemStream) -> Result<(), ProxyError<'static>> {
        self.usable()?;
        if self.owns_ahead(stream) {
            self.ahead.clear();
        }
        stream.close(&mut self.conn, &Extras::default())?;
        let (_, deadline) = self.deadline();
        self.flush(deadline).await
    }

    /// Pyro's `_pyroPing`: a round trip without calling anything.
    ///
    /// # Errors
    /// [`ProxyError::Timeout`], transport errors.
    pub async fn ping(&mut self) -> Result<(), ProxyError<'static>> {
        self.usable()?;
        self.give_up_ahead();
        self.conn.ping(&Extras::default())?;
        let (_, deadline) = self.deadline();
        self.flush(deadline).await?;
        self.exchange(Wanted::Pong, deadline).await
    }

    /// Close the connection (Pyro's `_pyroRelease`) and wait, at most the proxy's timeout,
    /// until the daemon has been told (after the requests still queued, such as a
    /// `close_stream`). embassy-net forgets a socket dropped before its FIN (or the reset of a
    /// failed call) went out: the daemon would keep the connection, and its storage, until its
    /// idle timeout.
    pub async fn close(&mut self) {
        if self.is_open() {
            let (_, deadline) = self.deadline();
            let _ = self.flush(deadline).await;
        }
        if self.open {
            self.socket.close();
            self.open = false;
        }
        let _ = with_timeout(self.timeout, self.socket.flush()).await;
    }

    /// Now and the deadline of a wait starting now, in milliseconds of embassy's clock.
    fn deadline(&self) -> (u64, u64) {
        let now = Instant::now().as_millis();
        (now, now.saturating_add(self.timeout.as_millis()))
    }

    fn usable(&self) -> Result<(), ProxyError<'static>> {
        if self.is_open() { Ok(()) } else { Err(ProxyError::Closed) }
    }

    /// Whether the requests waiting ahead are `stream`'s.
    fn owns_ahead(&self, stream: &ItemStream) -> bool {
        stream.next_seq().is_some_and(|seq| self.ahead.contains(&seq))
    }

    /// Give up the stream requests waiting ahead: a reply waited for comes after theirs.
    fn give_up_ahead(&mut self) {
        for seq in self.ahead.drain(..) {
            self.conn.abandon(seq);
        }
    }

    /// Send a call and, unless it is oneway, wait for its reply, which
    /// [`ClientConnection::reply`] then shows.
    async fn invoke<A, K>(
        &mut self,
        spec: &CallSpec<'_>,
        args: &A,
        kwargs: Option<&K>,
    ) -> Result<(), ProxyError<'static>>
    where
        A: ?Sized + Serialize,
        K: ?Sized + Serialize,
    {
        self.usable()?;
        if !spec.oneway {
            self.give_up_ahead();
        }
        let (_, deadline) = self.deadline();
        let sent = self.conn.call(spec, args, kwargs, &Extras::default(), Some(deadline))?;
        if !sent.expects_reply {
            return self.flush(deadline).await;
        }
        if let Err(e) = self.flush(deadline).await {
            self.conn.abandon(sent.seq);
            return Err(e);
        }
        self.exchange(Wanted::Reply(sent.seq), deadline).await
    }

    /// Write what the connection queued, by `deadline` (ms). Bytes not taken by then stay
    /// queued, ahead of the next request.
    async fn flush(&mut self, deadline: u64) -> Result<(), ProxyError<'static>> {
        while !self.conn.tx_pending().is_empty() {
            match with_deadline(Instant::from_millis(deadline), self.socket.write(self.conn.tx_pending())).await {
                Ok(Ok(0) | Err(_)) => return self.fail(ProxyError::Closed),
                Ok(Ok(n)) => self.conn.tx_advance(n),
                Err(_) => return Err(ProxyError::Timeout),
            }
        }
        Ok(())
    }

    /// Read and hand bytes and time to the connection until `wanted` comes, by `deadline`
    /// (ms) at the latest; a reply waited for is then shown by the connection until its next
    /// event. Replies nothing waits for any more are dropped on the way.
    async fn exchange(&mut self, wanted: Wanted, deadline: u64) -> Result<(), ProxyError<'static>> {
        loop {
            while let Some(event) = self.conn.poll_event() {
                match event {
                    ClientEvent::Connected if wanted == Wanted::Connected => return Ok(()),
                    ClientEvent::Pong if wanted == Wanted::Pong => return Ok(()),
                    ClientEvent::Reply { seq } if wanted == Wanted::Reply(seq) => return Ok(()),
                    ClientEvent::TimedOut { seq } if wanted == Wanted::Reply(seq) => return Err(ProxyError::Timeout),
                    ClientEvent::Reply { seq } | ClientEvent::TimedOut { seq } => self.ahead.retain(|s| *s != seq),
                    ClientEvent::Connected | ClientEvent::Pong => {}
                    ClientEvent::Closed(ClientError::Timeout) => return self.fail(ProxyError::Timeout),
                    ClientEvent::Closed(ClientError::ConnectionClosed) => return self.fail(ProxyError::Closed),
                    ClientEvent::Closed(e) => return self.fail(ProxyError::Protocol(e)),
                }
            }
            if Instant::now().as_millis() >= deadline {
                return match wanted {
                    Wanted::Reply(seq) => {
                        self.conn.abandon(seq);
                        Err(ProxyError::Timeout)
                    }
                    Wanted::Pong => Err(ProxyError::Timeout),
                    Wanted::Connected => self.fail(ProxyError::Timeout),
                };
            }
            let wake = self.conn.poll_timeout().map_or(deadline, |due| due.min(deadline));
            let buf = self.conn.read_buf();
            if buf.is_empty() {
                let error = match self.conn.failure() {
                    Some(e) => ProxyError::Protocol(e.clone()),
                    None => ProxyError::Closed,
                };
                return self.fail(error);
            }
            match with_deadline(Instant::from_millis(wake), self.socket.read(buf)).await {
                Ok(Ok(n)) => self.conn.commit(n, Instant::now().as_millis()),
                Ok(Err(_)) => return self.fail(ProxyError::Closed),
                Err(_) => self.conn.handle_timeout(Instant::now().as_millis()),
            }
        }
    }

    fn fail<T>(&mut self, error: ProxyError<'static>) -> Result<T, ProxyError<'static>> {
        self.socket.abort();
        self.open = false;
        Err(error)
    }
}

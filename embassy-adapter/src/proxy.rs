//! Calling Pyro objects from the device: a proxy over one embassy-net [`TcpSocket`],
//! driving the core's [`ClientSession`].

use core::fmt;

use embassy_net::tcp::{ConnectError, TcpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_time::{Duration, with_timeout};
use pyro5_core::client::{CallSpec, ClientError, ClientSession, Extras, Reply};
use pyro5_core::limits::Limits;
use pyro5_core::ser::envelope::RemoteException;
use pyro5_core::server::DAEMON_OBJECT_ID;
use pyro5_core::server::streams::StreamId;
use pyro5_core::wire::{Decoder, Progress, SerializerId};
use serde::{Deserialize, Serialize};

use crate::storage::ConnectionStorage;

/// Why a proxy call failed. Borrows the reply (a remote exception's texts) until the next
/// call.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyError<'r> {
    /// The TCP connection could not be made.
    Connect(ConnectError),
    /// The daemon did not answer within the proxy's timeout (Pyro's `TimeoutError`); the
    /// connection is closed, as Pyro5's proxy does.
    Timeout,
    /// The connection is closed (by the daemon, the network, or an earlier error).
    Closed,
    /// The daemon's bytes or the call could not be handled: refused handshake, reply out of
    /// order, arguments too large for the message storage, a reply that is not the type
    /// asked for.
    Protocol(ClientError),
    /// The remote method raised this Python exception.
    Remote(RemoteException<'r>),
}

impl ProxyError<'_> {
    /// The Python exception class Pyro5's proxy raises in the same situation.
    pub fn pyro_class(&self) -> &str {
        match self {
            Self::Connect(_) | Self::Closed => "Pyro5.errors.CommunicationError",
            Self::Timeout => "Pyro5.errors.TimeoutError",
            Self::Protocol(e) => e.pyro_class(),
            Self::Remote(e) => e.class,
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
        }
    }
}

impl From<ClientError> for ProxyError<'_> {
    fn from(e: ClientError) -> Self {
        Self::Protocol(e)
    }
}

/// A connection to one remote Pyro object, with storage from the caller (no allocator).
///
/// Every network wait is bounded by the proxy's timeout; after a timeout or any transport
/// error the connection is closed and further calls fail with [`ProxyError::Closed`]
/// (connect a new proxy to retry).
pub struct Proxy<'a> {
    socket: TcpSocket<'a>,
    connection: ClientSession,
    decoder: Decoder<&'a mut [u8]>,
    tx: &'a mut [u8],
    object: &'a str,
    limits: Limits,
    timeout: Duration,
    open: bool,
}

impl fmt::Debug for Proxy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy").field("object", &self.object).field("open", &self.open).finish_non_exhaustive()
    }
}

impl<'a> Proxy<'a> {
    /// Connect to object `object` of the daemon at `daemon` and do Pyro's handshake, in
    /// `serializer` (json and serpent work with no allocator; so do marshal and msgpack).
    ///
    /// # Errors
    /// [`ProxyError::Connect`], [`ProxyError::Timeout`], or the daemon's refusal
    /// ([`ClientError::Rejected`], e.g. an unknown object).
    pub async fn connect<const SOCKET: usize, const MESSAGE: usize>(
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
        let limits = Limits::default();
        let daemon = daemon.into();
        match with_timeout(timeout, socket.connect(daemon)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(ProxyError::Connect(e)),
            Err(_) => return Err(ProxyError::Timeout),
        }
        let mut proxy = Self {
            socket,
            connection: ClientSession::new(serializer),
            decoder: Decoder::new(&mut reply[..], limits),
            tx: &mut request[..],
            object,
            limits,
            timeout,
            open: true,
        };
        let len = proxy.connection.write_connect(object, &"hello", &Extras::default(), limits, &mut proxy.tx)?;
        proxy.send(len).await?;
        proxy.receive().await?;
        let Some(message) = proxy.decoder.message() else { return Err(ProxyError::Closed) };
        if let Err(e) = proxy.connection.read_connect(&message) {
            proxy.close().await;
            return Err(ProxyError::Protocol(e));
        }
        Ok(proxy)
    }

    /// The object id this proxy calls.
    pub fn object(&self) -> &str {
        self.object
    }

    /// Whether the connection is still usable.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Call `method` with positional `args` (a tuple or slice; [`NO_ARGS`](pyro5_core::client::NO_ARGS) for none) and
    /// read its result as `R` (which may borrow strings and bytes from the reply).
    ///
    /// # Errors
    /// [`ProxyError::Remote`] when the method raised; the others as documented there.
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
        let object = self.object;
        match self.invoke(object, method, args, kwargs).await? {
            Reply::Value(body) => Ok(body.decode()?),
            Reply::Exception(body) => Err(ProxyError::Remote(body.exception()?)),
            _ => Err(ProxyError::Protocol(ClientError::NotExpected)),
        }
    }

    /// Call `method` as a oneway call: sent, not waited for.
    ///
    /// # Errors
    /// Transport errors, arguments that do not fit.
    pub async fn oneway<A: ?Sized + Serialize>(&mut self, method: &str, args: &A) -> Result<(), ProxyError<'static>> {
        let spec = CallSpec { object: self.object, method, oneway: true, batch: false };
        let sent =
            self.connection.write_call(&spec, args, None::<&()>, &Extras::default(), self.limits, &mut self.tx)?;
        self.send(sent.len).await
    }

    /// Read the remote attribute (property) `name`.
    ///
    /// # Errors
    /// As for [`call`](Self::call); an unknown attribute is a remote `AttributeError`.
    pub async fn get_attr<'r, R: Deserialize<'r>>(&'r mut self, name: &str) -> Result<R, ProxyError<'r>> {
        self.call("__getattr__", &(name,)).await
    }

    /// Set the remote attribute (property) `name`.
    ///
    /// # Errors
    /// As for [`call`](Self::call).
    pub async fn set_attr<'r, V: ?Sized + Serialize>(
        &'r mut self,
        name: &str,
        value: &V,
    ) -> Result<(), ProxyError<'r>> {
        self.call::<_, serde::de::IgnoredAny>("__setattr__", &(name, value)).await.map(|_| ())
    }

    /// Call a method that returns an iterator: the stream's id, for
    /// [`next_item`](Self::next_item).
    ///
    /// # Errors
    /// As for [`call`](Self::call); a method that returned a plain value is a protocol
    /// error.
    pub async fn call_stream<'r, A: ?Sized + Serialize>(
        &'r mut self,
        method: &str,
        args: &A,
    ) -> Result<StreamId, ProxyError<'r>> {
        let object = self.object;
        match self.invoke(object, method, args, None::<&()>).await? {
            Reply::Stream { id, .. } => Ok(id),
            Reply::Exception(body) => Err(ProxyError::Remote(body.exception()?)),
            _ => Err(ProxyError::Protocol(ClientError::NotExpected)),
        }
    }

    /// The next item of a stream, or `None` when it is exhausted.
    ///
    /// # Errors
    /// As for [`call`](Self::call).
    pub async fn next_item<'r, R: Deserialize<'r>>(
        &'r mut self,
        stream: &StreamId,
    ) -> Result<Option<R>, ProxyError<'r>> {
        let text = stream.to_text();
        let id = core::str::from_utf8(&text).unwrap_or_default();
        match self.invoke(DAEMON_OBJECT_ID, "get_next_stream_item", &(id,), None::<&()>).await? {
            Reply::Value(body) => Ok(Some(body.decode()?)),
            Reply::Exception(body) => {
                let e = body.exception()?;
                if e.class == "builtins.StopIteration" { Ok(None) } else { Err(ProxyError::Remote(e)) }
            }
            _ => Err(ProxyError::Protocol(ClientError::NotExpected)),
        }
    }

    /// Tell the daemon a stream is no longer wanted (oneway, as Pyro5's proxy does).
    ///
    /// # Errors
    /// Transport errors.
    pub async fn close_stream(&mut self, stream: &StreamId) -> Result<(), ProxyError<'static>> {
        let text = stream.to_text();
        let id = core::str::from_utf8(&text).unwrap_or_default();
        let spec = CallSpec { object: DAEMON_OBJECT_ID, method: "close_stream", oneway: true, batch: false };
        let sent =
            self.connection.write_call(&spec, &(id,), None::<&()>, &Extras::default(), self.limits, &mut self.tx)?;
        self.send(sent.len).await
    }

    /// Pyro's `_pyroPing`: a round trip without calling anything.
    ///
    /// # Errors
    /// Transport errors.
    pub async fn ping(&mut self) -> Result<(), ProxyError<'static>> {
        let len = self.connection.write_ping(&Extras::default(), self.limits, &mut self.tx)?;
        self.send(len).await?;
        self.receive().await?;
        let Some(message) = self.decoder.message() else { return Err(ProxyError::Closed) };
        match self.connection.read_reply(&message) {
            Ok(Reply::Pong) => Ok(()),
            Ok(_) => Err(ProxyError::Protocol(ClientError::NotExpected)),
            Err(e) => Err(ProxyError::Protocol(e)),
        }
    }

    /// Close the connection (Pyro's `_pyroRelease`) and wait, at most the proxy's timeout,
    /// until the daemon has been told. embassy-net forgets a socket dropped before its FIN
    /// (or the reset of a failed call) went out: the daemon would keep the connection, and
    /// its storage, until its idle timeout.
    pub async fn close(&mut self) {
        if self.open {
            self.socket.close();
            self.open = false;
        }
        let _ = with_timeout(self.timeout, self.socket.flush()).await;
    }

    async fn invoke<'r, A, K>(
        &'r mut self,
        object: &str,
        method: &str,
        args: &A,
        kwargs: Option<&K>,
    ) -> Result<Reply<'r>, ProxyError<'r>>
    where
        A: ?Sized + Serialize,
        K: ?Sized + Serialize,
    {
        let spec = CallSpec { object, method, oneway: false, batch: false };
        let sent = self.connection.write_call(&spec, args, kwargs, &Extras::default(), self.limits, &mut self.tx)?;
        self.send(sent.len).await?;
        self.receive().await?;
        let Some(message) = self.decoder.message() else { return Err(ProxyError::Closed) };
        Ok(self.connection.read_reply(&message)?)
    }

    async fn send(&mut self, len: usize) -> Result<(), ProxyError<'static>> {
        if !self.open {
            return Err(ProxyError::Closed);
        }
        let mut out = self.tx.get(..len).unwrap_or_default();
        let socket = &mut self.socket;
        let sent = with_timeout(self.timeout, async {
            while !out.is_empty() {
                match socket.write(out).await {
                    Ok(0) | Err(_) => return Err(ProxyError::Closed),
                    Ok(n) => out = out.get(n..).unwrap_or_default(),
                }
            }
            Ok(())
        })
        .await;
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => self.fail(e),
            Err(_) => self.fail(ProxyError::Timeout),
        }
    }

    /// Read until one whole message is in the decoder.
    async fn receive(&mut self) -> Result<(), ProxyError<'static>> {
        loop {
            let buf = match self.decoder.read_buf() {
                Ok(buf) => buf,
                Err(e) => return self.fail(ProxyError::Protocol(ClientError::Receive(e))),
            };
            let n = match with_timeout(self.timeout, self.socket.read(buf)).await {
                Ok(Ok(0) | Err(_)) => return self.fail(ProxyError::Closed),
                Ok(Ok(n)) => n,
                Err(_) => return self.fail(ProxyError::Timeout),
            };
            match self.decoder.commit(n) {
                Ok(Progress::NeedMore) => {}
                Ok(Progress::Complete { .. }) => return Ok(()),
                Err(e) => return self.fail(ProxyError::Protocol(ClientError::Receive(e))),
            }
        }
    }

    fn fail<T>(&mut self, error: ProxyError<'static>) -> Result<T, ProxyError<'static>> {
        self.socket.abort();
        self.open = false;
        Err(error)
    }
}

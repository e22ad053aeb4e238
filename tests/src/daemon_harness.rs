//! A [`Daemon`] on a loopback port in a background thread, and a raw Pyro client that talks
//! to it in frames over a real `TcpStream`: for the daemon tests (`tests/tests/daemon_*.rs`).
//!
//! Every read has a deadline, so a daemon that hangs makes a test fail instead of stalling
//! it; dropping a [`TestDaemon`] shuts the daemon down and fails the test when its request
//! loop does not return in time or returns an error.
//!
//! ```no_run
//! use pyro5_interop_tests::daemon_harness::TestDaemon;
//! use pyro5_std::ServerType;
//!
//! let daemon = TestDaemon::echo(ServerType::Multiplex);
//! daemon.assert_serves_echo();
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyro5_core::limits::Limits;
use pyro5_core::ser::envelope::CallEnvelope;
use pyro5_core::ser::value::Value;
use pyro5_core::ser::{json, marshal, msgpack, serpent, to_output};
use pyro5_core::wire::{
    Annotation, DecodeError, Decoder, Flags, Header, MessageKind, OutgoingMessage, Progress, SerializerId, encode,
};
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Daemon, DaemonConfig, ServerType};

/// How long a read waits for a reply before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the daemon may take to close a connection it should close.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the request loop may take to return after `shutdown()`.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A daemon serving in a background thread until dropped.
#[derive(Debug)]
pub struct TestDaemon {
    daemon: Daemon,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestDaemon {
    /// Bind a daemon as `config` says, but on `127.0.0.1` and a free port; let `register`
    /// register its objects; serve it in a thread (`request_loop_while` a stop flag).
    ///
    /// # Panics
    /// When the daemon cannot bind or the thread cannot start.
    pub fn start(config: DaemonConfig, register: impl FnOnce(&Daemon)) -> Self {
        let config = DaemonConfig { host: "127.0.0.1".into(), port: 0, unix_socket: None, ..config };
        let daemon = Daemon::new(config).expect("bind a daemon on 127.0.0.1");
        register(&daemon);
        let port = daemon.port().expect("a TCP daemon has a port");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (daemon, stop) = (daemon.clone(), stop.clone());
            std::thread::Builder::new()
                .name("test-daemon".into())
                .spawn(move || daemon.request_loop_while(|| !stop.load(Ordering::Acquire)))
                .expect("start the daemon thread")
        };
        Self { daemon, addr, stop, thread: Some(thread) }
    }

    /// A daemon of `server_type` with Pyro's other defaults, serving Pyro's echo server as
    /// `test.echoserver`.
    pub fn echo(server_type: ServerType) -> Self {
        Self::echo_with(DaemonConfig { server_type, ..DaemonConfig::default() })
    }

    /// A daemon configured by `config`, serving Pyro's echo server as `test.echoserver`.
    pub fn echo_with(config: DaemonConfig) -> Self {
        Self::echo_object(config, EchoServer::new())
    }

    /// A daemon configured by `config`, serving `echo` as `test.echoserver`.
    pub fn echo_object(config: DaemonConfig, echo: EchoServer) -> Self {
        Self::start(config, |daemon| {
            daemon.register(echo, Some(OBJECT_ID)).expect("register the echo server");
        })
    }

    /// The daemon.
    pub fn daemon(&self) -> &Daemon {
        &self.daemon
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A new raw client connection to it.
    pub fn client(&self) -> RawClient {
        RawClient::connect(self.addr)
    }

    /// Wait until the daemon counts exactly `n` open client connections.
    ///
    /// # Panics
    /// When that does not happen within `within`.
    pub fn wait_for_connections(&self, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let count = self.daemon.connection_count();
            if count == n {
                return;
            }
            assert!(Instant::now() < deadline, "the daemon counts {count} open connections after {within:?}, want {n}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A new client completes CONNECT and INVOKE `echo("ok")` on `test.echoserver` and gets
    /// `'ok'` back, and its connection is then closed.
    ///
    /// # Panics
    /// When it is not served so.
    pub fn assert_serves_echo(&self) {
        let mut client = self.client();
        client.handshake(OBJECT_ID);
        client.assert_echo(1, "ok");
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.daemon.shutdown();
        let Some(thread) = self.thread.take() else { return };
        if std::thread::panicking() {
            // The test failed already; do not wait for a daemon that may be stuck.
            return;
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(thread.is_finished(), "the daemon's request loop did not return within {STOP_TIMEOUT:?} of shutdown()");
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the daemon's request loop failed: {e}"),
            Err(_) => panic!("the daemon's request loop panicked"),
        }
    }
}

/// One message as received: header, annotations, payload (inflated if it was compressed).
#[derive(Clone, Debug)]
pub struct Frame {
    /// The header as sent (COMPRESSED still set if it was).
    pub header: Header,
    /// The annotation chunks in wire order: id text, value.
    pub annotations: Vec<(String, Vec<u8>)>,
    /// The payload, inflated.
    pub payload: Vec<u8>,
}

impl Frame {
    /// Decode one whole frame from `bytes` (which must hold exactly one).
    ///
    /// # Errors
    /// The decoder's error, or a text for a frame that is incomplete or followed by more.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut decoder = Decoder::new(Vec::new(), Limits::with_max_message_size(u32::MAX));
        match decoder.feed(bytes).map_err(|e| e.to_string())? {
            Progress::Complete { consumed } if consumed == bytes.len() => {}
            Progress::Complete { consumed } => return Err(format!("{} bytes after the frame", bytes.len() - consumed)),
            Progress::NeedMore => return Err("incomplete frame".into()),
        }
        Self::from_decoder(&decoder)
    }

    fn from_decoder(decoder: &Decoder<Vec<u8>>) -> Result<Self, String> {
        let message = decoder.message().ok_or("no complete message")?;
        let payload = message.payload().map_err(|e| e.to_string())?.to_vec();
        let annotations =
            message.annotations().map(|(id, value)| (id.as_str().to_string(), value.to_vec())).collect::<Vec<_>>();
        Ok(Self { header: *message.header(), annotations, payload })
    }

    /// The payload decoded with the frame's serializer.
    ///
    /// # Panics
    /// When it does not decode.
    pub fn value(&self) -> Value {
        decode(self.header.serializer, &self.payload)
            .unwrap_or_else(|e| panic!("{:?} payload does not decode: {e}; {}", self.header.kind, self.describe()))
    }

    /// A one-line account for assertion messages.
    pub fn describe(&self) -> String {
        let h = &self.header;
        format!(
            "{:?} serializer={} flags={:#06x} seq={} annotations={:?} payload={:?}",
            h.kind,
            u8::from(h.serializer),
            h.flags.bits(),
            h.seq,
            self.annotations.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
            String::from_utf8_lossy(&self.payload)
        )
    }

    /// Check it is a CONNECTFAIL in marshal, sequence `seq`, with text `text`.
    ///
    /// # Panics
    /// When it is not.
    pub fn assert_connect_fail(&self, seq: u16, text: &str) {
        assert_eq!(self.header.kind, MessageKind::ConnectFail, "{}", self.describe());
        assert_eq!(self.header.serializer, SerializerId::Marshal, "{}", self.describe());
        assert_eq!(self.header.seq, seq, "{}", self.describe());
        assert_eq!(self.value(), Value::Str(text.into()), "{}", self.describe());
    }

    /// Check it is an exception RESULT for `seq`; returns the exception's `__class__`.
    ///
    /// # Panics
    /// When it is not.
    pub fn assert_exception(&self, seq: u16) -> String {
        assert_eq!(self.header.kind, MessageKind::Result, "{}", self.describe());
        assert_eq!(self.header.seq, seq, "{}", self.describe());
        assert!(self.header.flags.contains(Flags::EXCEPTION), "no EXCEPTION flag: {}", self.describe());
        let value = self.value();
        assert_eq!(value.get("__exception__"), Some(&Value::Bool(true)), "{}", self.describe());
        value.class_name().unwrap_or_else(|| panic!("no __class__: {}", self.describe())).to_string()
    }
}

/// Why [`RawClient::read_frame_within`] returned no frame.
#[derive(Debug)]
pub enum ReadError {
    /// The daemon closed the connection (read returned 0, or the connection was reset);
    /// `partial` bytes of a frame had arrived.
    Closed {
        /// Bytes of an incomplete frame received before the close.
        partial: usize,
    },
    /// Nothing complete arrived in time.
    Timeout,
    /// The bytes are not a Pyro frame.
    Decode(DecodeError),
    /// Another socket error.
    Io(io::Error),
}

/// A client connection that sends and receives raw frames.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    decoder: Decoder<Vec<u8>>,
}

impl RawClient {
    /// Connect to `addr`.
    ///
    /// # Panics
    /// When the connection is refused.
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).expect("connect to the daemon");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        stream.set_write_timeout(Some(READ_TIMEOUT)).expect("write timeout");
        Self { stream, decoder: Decoder::new(Vec::new(), Limits::with_max_message_size(u32::MAX)) }
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Send `bytes`.
    ///
    /// # Errors
    /// The socket's error (the daemon may have closed the connection).
    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Send `bytes`.
    ///
    /// # Panics
    /// When the socket refuses them.
    pub fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes).expect("send to the daemon");
    }

    /// Close the sending direction: the daemon reads end-of-stream.
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Read one frame, waiting at most `within`.
    ///
    /// # Errors
    /// [`ReadError`].
    pub fn read_frame_within(&mut self, within: Duration) -> Result<Frame, ReadError> {
        let deadline = Instant::now() + within;
        let mut partial = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ReadError::Timeout);
            }
            self.stream.set_read_timeout(Some(left)).map_err(ReadError::Io)?;
            let buf = self.decoder.read_buf().map_err(ReadError::Decode)?;
            match self.stream.read(buf) {
                Ok(0) => return Err(ReadError::Closed { partial }),
                Ok(n) => {
                    partial += n;
                    if let Progress::Complete { .. } = self.decoder.commit(n).map_err(ReadError::Decode)? {
                        let frame = Frame::from_decoder(&self.decoder);
                        self.decoder.consume();
                        return frame.map_err(|e| ReadError::Io(io::Error::other(e)));
                    }
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(ReadError::Timeout);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_reset(&e) => return Err(ReadError::Closed { partial }),
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }

    /// Read one frame within [`READ_TIMEOUT`].
    ///
    /// # Panics
    /// When none arrives.
    pub fn read_frame(&mut self) -> Frame {
        self.read_frame_within(READ_TIMEOUT).unwrap_or_else(|e| panic!("no reply from the daemon: {e:?}"))
    }

    /// Check the daemon closes the connection within [`CLOSE_TIMEOUT`] without sending
    /// anything more.
    ///
    /// # Panics
    /// When bytes arrive or the connection stays open.
    pub fn expect_closed(&mut self) {
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the daemon did not close the connection within {CLOSE_TIMEOUT:?}");
            self.stream.set_read_timeout(Some(left)).expect("read timeout");
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    panic!("expected the daemon to close the connection, got {n} bytes: {:02x?}", &buf[..n.min(64)])
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    panic!("the daemon did not close the connection within {CLOSE_TIMEOUT:?}")
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_reset(&e) => return,
                Err(e) => panic!("read failed while waiting for the close: {e}"),
            }
        }
    }

    /// Check the connection stays open and silent for `quiet`.
    ///
    /// # Panics
    /// When the daemon closes it or sends something.
    pub fn expect_open(&mut self, quiet: Duration) {
        let mut buf = [0u8; 256];
        self.stream.set_read_timeout(Some(quiet)).expect("read timeout");
        match self.stream.read(&mut buf) {
            Ok(0) => panic!("the daemon closed a connection that should stay open"),
            Ok(n) => panic!("unexpected {n} bytes from the daemon: {:02x?}", &buf[..n.min(64)]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("the connection should stay open, read failed: {e}"),
        }
    }

    /// Send a serpent CONNECT for `object` (sequence 0) and check the CONNECTOK.
    ///
    /// # Panics
    /// When the daemon does not accept it.
    pub fn handshake(&mut self, object: &str) -> Frame {
        self.send(&connect_frame(SerializerId::Serpent, object, 0));
        let reply = self.read_frame();
        assert_eq!(reply.header.kind, MessageKind::ConnectOk, "{}", reply.describe());
        assert_eq!(reply.header.seq, 0, "{}", reply.describe());
        reply
    }

    /// Call `object.method(*args)` in serpent with sequence `seq`; returns the reply.
    ///
    /// # Panics
    /// When no reply arrives.
    pub fn call(&mut self, seq: u16, object: &str, method: &str, args: &[Value]) -> Frame {
        self.send(&invoke_frame(SerializerId::Serpent, seq, object, method, args));
        self.read_frame()
    }

    /// Call `echo(text)` on `test.echoserver` with sequence `seq` and check the RESULT.
    ///
    /// # Panics
    /// When the reply is not `text` for `seq`.
    pub fn assert_echo(&mut self, seq: u16, text: &str) {
        let reply = self.call(seq, OBJECT_ID, "echo", &[Value::Str(text.into())]);
        assert_eq!(reply.header.kind, MessageKind::Result, "{}", reply.describe());
        assert_eq!(reply.header.seq, seq, "{}", reply.describe());
        assert!(!reply.header.flags.contains(Flags::EXCEPTION), "{}", reply.describe());
        assert_eq!(reply.value(), Value::Str(text.into()), "{}", reply.describe());
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe)
}

/// A frame of `kind` with `payload`, as `message` describes it (annotations, flags, ...).
///
/// # Panics
/// When the encoder refuses it (test data is wrong).
pub fn encode_frame(message: &OutgoingMessage<'_>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 40 + 64 + payload.len() * 2 + 1024];
    let n = encode(message, payload, &mut out, Limits::with_max_message_size(u32::MAX)).expect("encode a frame");
    out.truncate(n);
    out
}

/// A plain frame: no flags, annotations or correlation id.
pub fn frame(kind: MessageKind, serializer: SerializerId, seq: u16, payload: &[u8]) -> Vec<u8> {
    encode_frame(&OutgoingMessage::new(kind, serializer, seq), payload)
}

/// A frame with the given flags and annotations (`id` must be 4 ASCII characters).
pub fn frame_with(
    kind: MessageKind,
    serializer: SerializerId,
    seq: u16,
    flags: Flags,
    annotations: &[(&str, &[u8])],
    payload: &[u8],
) -> Vec<u8> {
    let ids: Vec<_> =
        annotations.iter().map(|(id, _)| (*id).try_into().expect("a 4-character annotation id")).collect();
    let annotations: Vec<Annotation<'_>> =
        ids.iter().zip(annotations).map(|(id, (_, v))| Annotation::new(*id, v)).collect();
    let message = OutgoingMessage { flags, annotations: &annotations, ..OutgoingMessage::new(kind, serializer, seq) };
    encode_frame(&message, payload)
}

/// `value` written in `format`.
///
/// # Panics
/// When the serializer refuses it.
pub fn serialize(format: SerializerId, value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    to_output(format, value, &mut out).expect("serialize a test value");
    out
}

/// The CONNECT payload a Python proxy sends: `{"handshake": "hello", "object": object}`.
pub fn connect_payload(format: SerializerId, object: &str) -> Vec<u8> {
    let data = Value::Dict(vec![
        (Value::from("handshake"), Value::from("hello")),
        (Value::from("object"), Value::from(object)),
    ]);
    serialize(format, &data)
}

/// A CONNECT frame for `object` in `format`.
pub fn connect_frame(format: SerializerId, object: &str, seq: u16) -> Vec<u8> {
    frame(MessageKind::Connect, format, seq, &connect_payload(format, object))
}

/// The INVOKE payload for `object.method(*args)` (no keyword arguments) in `format`.
///
/// # Panics
/// When the serializer refuses the arguments.
pub fn call_payload(format: SerializerId, object: &str, method: &str, args: &[Value]) -> Vec<u8> {
    let args = Value::Tuple(args.to_vec());
    let kwargs = Value::Dict(Vec::new());
    let call = CallEnvelope { format, object, method, args: &args, kwargs: Some(&kwargs) };
    let mut out = Vec::new();
    to_output(format, &call, &mut out).expect("serialize a call");
    out
}

/// An INVOKE frame for `object.method(*args)` in `format`.
pub fn invoke_frame(format: SerializerId, seq: u16, object: &str, method: &str, args: &[Value]) -> Vec<u8> {
    frame(MessageKind::Invoke, format, seq, &call_payload(format, object, method, args))
}

/// A payload decoded as a [`Value`] with serializer `format`.
///
/// # Errors
/// The deserializer's error text, or the unknown serializer id.
pub fn decode(format: SerializerId, payload: &[u8]) -> Result<Value, String> {
    match format {
        SerializerId::Serpent => serpent::from_slice(payload).map_err(|e| e.to_string()),
        SerializerId::Marshal => marshal::from_slice(payload).map_err(|e| e.to_string()),
        SerializerId::Json => json::from_slice(payload).map_err(|e| e.to_string()),
        SerializerId::Msgpack => msgpack::from_slice(payload).map_err(|e| e.to_string()),
        SerializerId::Unknown(id) => Err(format!("unknown serializer id {id}")),
    }
}

/// A field of `/proc/self/status` in kB (`VmRSS`, `VmHWM`, `VmSize`, `VmPeak`).
///
/// # Panics
/// When the file or the field is missing (the tests need Linux).
pub fn proc_status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Both server types, for tests that run against each.
pub const SERVER_TYPES: [ServerType; 2] = [ServerType::Thread, ServerType::Multiplex];

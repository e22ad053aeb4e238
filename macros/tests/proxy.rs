//! Typed proxies written by `#[proxy]`, calling objects served by an in-process
//! `pyro5_std::Daemon` over TCP: Pyro's echo server (both server types, all four
//! serializers: results, remote exceptions, the property, a dunder name, oneway calls,
//! generators, generic methods, user error types) and an `#[expose]`d Rust object.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use pyro5_core::ser::value::Value;
use pyro5_core::server::PyException;
use pyro5_macros::{expose, proxy};
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::{Daemon, DaemonConfig, ProxyError, RemoteIter, Serializer, ServerType};
use serde::{Deserialize, Serialize};

const SERIALIZERS: [Serializer; 4] = [Serializer::Serpent, Serializer::Json, Serializer::Marshal, Serializer::Msgpack];

/// Pyro's test echo server, as Rust methods.
#[proxy]
trait Echo {
    fn echo(&mut self, message: String) -> Result<String, ProxyError>;
    /// Same remote method, any value: the signature (generics included) is copied.
    #[pyro5(name = "echo")]
    fn echo_as<T: Serialize + for<'de> Deserialize<'de>>(&mut self, value: T) -> Result<T, ProxyError>;
    /// Borrowed arguments, a dynamic result.
    #[pyro5(name = "echo")]
    fn echo_value(&mut self, message: &[i64]) -> Result<Value, ProxyError>;
    fn error(&mut self) -> Result<(), ProxyError>;
    fn error_with_text(&mut self) -> Result<(), ProxyError>;
    #[pyro5(name = "__dunder__")]
    fn dunder(&mut self) -> Result<String, ProxyError>;
    #[pyro5(getter)]
    fn verbose(&mut self) -> Result<bool, ProxyError>;
    #[pyro5(setter = "verbose")]
    fn set_verbose(&mut self, value: bool) -> Result<(), ProxyError>;
    /// Oneway (from the metadata): returns once sent.
    fn oneway_echo(&mut self, message: &str) -> Result<(), ProxyError>;
    /// A generator, item by item...
    fn generator(&mut self) -> Result<RemoteIter<'_>, ProxyError>;
    /// ...or collected.
    #[pyro5(name = "generator")]
    fn generator_items(&mut self) -> Result<Vec<String>, ProxyError>;
    fn inf(&mut self) -> Result<f64, ProxyError>;
    /// Not a method of the echo server.
    fn missing(&mut self) -> Result<(), ProxyError>;
    /// Runs here.
    fn echo_twice(&mut self, message: &str) -> Result<(String, String), ProxyError> {
        Ok((self.echo(message.to_string())?, self.echo(message.to_string())?))
    }
}

/// A Rust daemon serving `object` in a thread until dropped.
struct Running {
    daemon: Daemon,
    uri: String,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    fn echo(server_type: ServerType) -> Self {
        let echo = EchoServer::new();
        let stop: Arc<AtomicBool> = echo.shutdown_flag();
        Self::start(server_type, stop, |daemon| daemon.register_concurrent(echo, Some(OBJECT_ID)))
    }

    fn start(
        server_type: ServerType,
        stop: Arc<AtomicBool>,
        register: impl FnOnce(&Daemon) -> Result<String, pyro5_std::DaemonError>,
    ) -> Self {
        let daemon = Daemon::new(DaemonConfig { server_type, ..DaemonConfig::default() }).expect("bind");
        let uri = register(&daemon).expect("register");
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || {
            serving.request_loop_while(|| !stop.load(Ordering::Acquire)).expect("request loop");
        });
        Self { daemon, uri, thread: Some(thread) }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn echo_proxy(uri: &str, serializer: Serializer) -> EchoProxy {
    let mut echo = EchoProxy::new(uri).expect("uri");
    echo.proxy_mut().set_serializer(serializer);
    echo
}

fn remote(result: Result<impl std::fmt::Debug, ProxyError>) -> pyro5_std::RemoteError {
    match result {
        Err(ProxyError::Remote(e)) => e,
        other => panic!("expected a remote exception, got {other:?}"),
    }
}

#[derive(Debug, Deserialize, PartialEq, Serialize)]
struct Point {
    x: i64,
    y: f64,
    label: String,
}

fn every_echo_method(server_type: ServerType) {
    let server = Running::echo(server_type);
    for serializer in SERIALIZERS {
        let mut echo = echo_proxy(&server.uri, serializer);
        let ctx = format!("{server_type} {serializer:?}");
        assert_eq!(echo.echo("hello".into()).unwrap(), "hello", "{ctx}");
        assert_eq!(echo.echo("ünïcödé ☃".into()).unwrap(), "ünïcödé ☃", "{ctx}");
        assert_eq!(echo.echo_as(42i64).unwrap(), 42, "{ctx}");
        assert_eq!(echo.echo_as(vec![1.5f64, -2.0]).unwrap(), [1.5, -2.0], "{ctx}");
        let point = Point { x: 3, y: 0.25, label: "p".into() };
        assert_eq!(echo.echo_as(Point { label: "p".into(), ..point }).unwrap().x, 3, "{ctx}");
        assert_eq!(
            echo.echo_value(&[1, 2, 3]).unwrap(),
            Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
            "{ctx}"
        );
        assert_eq!(echo.echo_twice("two").unwrap(), ("two".to_string(), "two".to_string()), "{ctx}");

        let e = remote(echo.error());
        assert_eq!(e.class, "builtins.ValueError", "{ctx}");
        assert_eq!(e.message(), "this is the generated error from echoserver echo() method", "{ctx}");
        assert!(e.traceback_text().contains("ValueError"), "{ctx}: {:?}", e.traceback);
        assert_eq!(remote(echo.error_with_text()).message(), "the message of the error", "{ctx}");
        // The connection survives a remote exception.
        assert_eq!(echo.echo("after".into()).unwrap(), "after", "{ctx}");

        assert_eq!(echo.dunder().unwrap(), "should be allowed (dunder)", "{ctx}");
        echo.set_verbose(true).unwrap();
        assert!(echo.verbose().unwrap(), "{ctx}");
        echo.set_verbose(false).unwrap();
        assert!(!echo.verbose().unwrap(), "{ctx}");

        echo.oneway_echo("fire and forget").unwrap();
        let items: Vec<Value> = echo.generator().unwrap().map(Result::unwrap).collect();
        assert_eq!(items, ["one", "two", "three"].map(|s| Value::Str(s.into())), "{ctx}");
        // Dropped after one item: the daemon closes the stream, the proxy goes on.
        assert_eq!(echo.generator().unwrap().next().unwrap().unwrap(), Value::Str("one".into()), "{ctx}");
        assert_eq!(echo.generator_items().unwrap(), ["one", "two", "three"], "{ctx}");
        if serializer != Serializer::Json {
            assert_eq!(echo.inf().unwrap(), f64::INFINITY, "{ctx}");
        }

        match echo.missing() {
            Err(ProxyError::NotExposed { name, .. }) => assert_eq!(name, "missing", "{ctx}"),
            other => panic!("{ctx}: {other:?}"),
        }
        let proxy = echo.into_inner();
        assert_eq!(proxy.uri(), server.uri);
    }
}

#[test]
fn typed_echo_proxy_calls_every_kind_of_method_in_every_serializer_thread_server() {
    every_echo_method(ServerType::Thread);
}

#[test]
fn typed_echo_proxy_calls_every_kind_of_method_in_every_serializer_multiplex_server() {
    every_echo_method(ServerType::Multiplex);
}

/// An error type of the caller's, made from the proxy's.
#[derive(Debug)]
enum AppError {
    Remote { class: String, message: String },
    Other(ProxyError),
}

impl From<ProxyError> for AppError {
    fn from(e: ProxyError) -> Self {
        match e {
            ProxyError::Remote(e) => Self::Remote { message: e.message(), class: e.class },
            other => Self::Other(other),
        }
    }
}

mod reexport {
    pub use pyro5_std as pyro;
}

/// The struct's name and the path of pyro5_std given; a user error type.
#[proxy(name = "EchoClient", crate = "crate::reexport::pyro")]
pub(crate) trait AppEcho {
    fn echo(&mut self, message: &str) -> Result<String, AppError>;
    fn error(&mut self) -> Result<(), AppError>;
}

#[test]
fn proxy_errors_convert_into_the_declared_error_type() {
    let server = Running::echo(ServerType::Thread);
    let mut echo = EchoClient::from_proxy(pyro5_std::Proxy::new(&server.uri).unwrap());
    assert_eq!(echo.echo("hi").unwrap(), "hi");
    match echo.error() {
        Err(AppError::Remote { class, message }) => {
            assert_eq!(class, "builtins.ValueError");
            assert!(message.starts_with("this is the generated error"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    echo.proxy_mut().release();
    assert!(!format!("{:?}", echo.proxy()).is_empty());

    let mut nowhere = EchoClient::new("PYRO:x@localhost:1").unwrap();
    match nowhere.echo("hi") {
        // Not a remote exception: the proxy's own error, kept.
        Err(AppError::Other(e)) => assert!(!matches!(e, ProxyError::Remote(_)), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(EchoClient::new("not a uri"), Err(ProxyError::Uri(_))));
}

/// A Rust object served with `#[expose]`.
#[derive(Default)]
struct Thermo {
    celsius: f64,
    target: f64,
    beeps: Arc<std::sync::atomic::AtomicU32>,
}

#[expose]
impl Thermo {
    fn read(&self) -> f64 {
        self.celsius
    }

    fn set(&mut self, value: f64, unit: Option<String>) -> Result<f64, PyException<&'static str>> {
        let celsius = if unit.as_deref() == Some("F") { (value - 32.0) / 1.8 } else { value };
        if celsius < -273.15 {
            return Err(PyException::value_error("below absolute zero"));
        }
        self.celsius = celsius;
        Ok(celsius)
    }

    fn scale(&self, factors: Vec<f64>, offset: i32) -> Vec<f64> {
        factors.iter().map(|f| f * self.celsius + f64::from(offset)).collect()
    }

    #[oneway]
    fn beep(&mut self) {
        self.beeps.fetch_add(1, Ordering::SeqCst);
    }

    fn countdown(&self, start: u32) -> impl Iterator<Item = u32> {
        (1..=start).rev()
    }

    #[getter]
    fn target(&self) -> f64 {
        self.target
    }

    #[setter]
    fn set_target(&mut self, value: f64) {
        self.target = value;
    }
}

/// The same object seen from the client.
#[proxy]
trait RemoteThermo {
    fn read(&mut self) -> Result<f64, ProxyError>;
    fn set(&mut self, value: f64, unit: Option<&str>) -> Result<f64, ProxyError>;
    fn scale(&mut self, factors: &[f64], offset: i32) -> Result<Vec<f64>, ProxyError>;
    fn beep(&mut self) -> Result<(), ProxyError>;
    fn countdown(&mut self, start: u32) -> Result<Vec<u32>, ProxyError>;
    #[pyro5(getter)]
    fn target(&mut self) -> Result<f64, ProxyError>;
    #[pyro5(setter)]
    fn set_target(&mut self, value: f64) -> Result<(), ProxyError>;
}

#[test]
fn typed_proxy_calls_an_exposed_rust_object_in_every_serializer() {
    let beeps = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let thermo = Thermo { beeps: beeps.clone(), ..Thermo::default() };
    let server =
        Running::start(ServerType::Thread, Arc::new(AtomicBool::new(false)), |d| d.register(thermo, Some("thermo")));
    for serializer in SERIALIZERS {
        let mut thermo = RemoteThermoProxy::new(&server.uri).unwrap();
        thermo.proxy_mut().set_serializer(serializer);
        let ctx = format!("{serializer:?}");
        assert_eq!(thermo.set(21.5, None).unwrap(), 21.5, "{ctx}");
        assert_eq!(thermo.read().unwrap(), 21.5, "{ctx}");
        assert_eq!(thermo.set(212.0, Some("F")).unwrap(), 100.0, "{ctx}");
        assert_eq!(thermo.scale(&[1.0, 0.5], -1).unwrap(), [99.0, 49.0], "{ctx}");
        let e = remote(thermo.set(-300.0, None));
        assert_eq!((e.class.as_str(), e.message().as_str()), ("builtins.ValueError", "below absolute zero"), "{ctx}");
        thermo.beep().unwrap();
        assert_eq!(thermo.countdown(3).unwrap(), [3, 2, 1], "{ctx}");
        thermo.set_target(19.0).unwrap();
        assert_eq!(thermo.target().unwrap(), 19.0, "{ctx}");
        let meta = thermo.proxy_mut().bind().unwrap();
        assert!(meta.oneway.contains("beep") && meta.attrs.contains("target"), "{ctx}: {meta:?}");
    }
    // Oneway calls return before they run: wait for the last one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while beeps.load(Ordering::SeqCst) < 4 {
        assert!(std::time::Instant::now() < deadline, "beep() ran {} times", beeps.load(Ordering::SeqCst));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

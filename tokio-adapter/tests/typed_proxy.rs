//! `#[proxy]` traits with `async fn` methods: a typed client on the async proxy, called
//! against Python's own echo server (every kind of method, a body built on them, tasks
//! sharing one typed proxy) and against our tokio daemon serving `async fn` methods.

use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use pyro5_interop_tests::echo_daemon::PythonEchoServer;
use pyro5_std::core::ser::value::Value;
use pyro5_std::{DaemonConfig, expose};
use pyro5_tokio::{Daemon, ProxyError, RemoteError, RemoteStream, proxy};

/// What this program calls of `Pyro5.utils.echoserver.EchoServer`.
#[proxy]
trait Echo {
    /// `echo(message)`.
    async fn echo(&self, message: &str) -> Result<String, ProxyError>;
    /// Raises ValueError.
    async fn error(&self) -> Result<(), ProxyError>;
    /// A remote name that is not a Rust name.
    #[pyro5(name = "__dunder__")]
    async fn dunder(&self) -> Result<String, ProxyError>;
    /// Property `verbose`, read and written.
    #[pyro5(getter)]
    async fn verbose(&self) -> Result<bool, ProxyError>;
    #[pyro5(setter)]
    async fn set_verbose(&self, value: bool) -> Result<(), ProxyError>;
    /// A generator, as a stream.
    async fn generator(&self) -> Result<RemoteStream, ProxyError>;
    /// Oneway (from the metadata): returns at once although the server sleeps a second.
    async fn oneway_slow(&self) -> Result<(), ProxyError>;
    /// A method with a body runs here, on the remote ones.
    async fn shout(&self, message: &str) -> Result<String, ProxyError> {
        Ok(self.echo(message).await?.to_uppercase())
    }
}

async fn collect(mut stream: RemoteStream) -> Vec<Value> {
    let mut items = Vec::new();
    while let Some(item) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx)).await {
        items.push(item.expect("an item"));
    }
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_async_proxy_calls_pythons_echo_server() {
    let server = PythonEchoServer::start(&[]);
    let echo = EchoProxy::new(&server.uri).expect("a valid URI");
    assert_eq!(echo.echo("hello").await.unwrap(), "hello");
    assert_eq!(echo.shout("hello").await.unwrap(), "HELLO");
    assert_eq!(echo.dunder().await.unwrap(), "should be allowed (dunder)");
    match echo.error().await {
        Err(ProxyError::Remote(RemoteError { class, .. })) => assert_eq!(class, "builtins.ValueError"),
        other => panic!("{other:?}"),
    }
    echo.set_verbose(false).await.unwrap();
    assert!(!echo.verbose().await.unwrap());
    let items = collect(echo.generator().await.unwrap()).await;
    assert_eq!(items, [Value::Str("one".into()), Value::Str("two".into()), Value::Str("three".into())]);
    let started = std::time::Instant::now();
    echo.oneway_slow().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(900), "oneway: not waited for");

    // Tasks share one typed proxy; their calls overlap on its connection.
    let echo = Arc::new(echo);
    let tasks: Vec<_> = (0..200)
        .map(|n| {
            let echo = echo.clone();
            tokio::spawn(async move { echo.echo(&n.to_string()).await })
        })
        .collect();
    for (n, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap(), n.to_string());
    }
    echo.proxy().release();
}

/// An object with async methods, served by the tokio daemon.
#[derive(Clone)]
struct Clock;

#[expose]
impl Clock {
    async fn after(&self, millis: u64, what: String) -> String {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        what
    }
}

#[proxy]
trait Later {
    async fn after(&self, millis: u64, what: &str) -> Result<String, ProxyError>;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_async_proxies_call_async_methods_of_our_daemon() {
    let daemon = Daemon::bind(DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }).unwrap();
    let uri = daemon.register(Clock, Some("clock")).unwrap();
    let serving = daemon.clone();
    let server = tokio::spawn(async move { serving.serve().await });
    // Ten proxies (ten connections) whose calls all wait 300 ms: served side by side.
    let started = std::time::Instant::now();
    let calls: Vec<_> = (0..10)
        .map(|n| {
            let later = LaterProxy::new(&uri).unwrap();
            tokio::spawn(async move { later.after(300, &format!("at {n}")).await })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap().unwrap());
    }
    assert_eq!(answers, (0..10).map(|n| format!("at {n}")).collect::<Vec<_>>());
    assert!(started.elapsed() < Duration::from_secs(3), "one after the other: {:?}", started.elapsed());
    daemon.shutdown();
    server.await.unwrap().unwrap();
}

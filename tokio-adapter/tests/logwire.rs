//! `LOGWIRE` on the async proxy: the handshake and every message sent and received are
//! logged at debug level with Python's texts (target `Pyro5.wire`), as the std proxy does.

use std::sync::Mutex;

use pyro5_interop_tests::echo_daemon::PythonEchoServer;
use pyro5_std::config::{Config, WIRE_LOG_TARGET};
use pyro5_tokio::Proxy;

/// The lines logged for the wire.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == WIRE_LOG_TARGET
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            LINES.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

#[tokio::test]
async fn logwire_logs_the_handshake_and_every_message() {
    log::set_logger(&Capture).expect("the only logger");
    log::set_max_level(log::LevelFilter::Debug);
    let server = PythonEchoServer::start(&[]);
    let config = Config { logwire: true, ..Config::default() };
    let proxy = Proxy::with_config(&server.uri, &config).unwrap();
    let back: String = proxy.call("echo", ("logged",)).await.unwrap();
    assert_eq!(back, "logged");
    let lines = LINES.lock().unwrap().clone();
    let starts = |text: &str| lines.iter().filter(|l| l.starts_with(text)).count();
    assert_eq!(starts("proxy connect sending: msgtype=1 "), 1, "{lines:#?}");
    assert_eq!(starts("proxy connect response received: msgtype=2 "), 1, "{lines:#?}");
    assert_eq!(starts("proxy wiredata sending: msgtype=4 "), 1, "{lines:#?}");
    assert_eq!(starts("proxy wiredata received: msgtype=5 "), 1, "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("logged")), "the data's repr: {lines:#?}");
}

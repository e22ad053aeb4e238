//! The device side: a typed object served by `pyro5_embassy::serve` with static storage.

use core::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use embassy_futures::join::join;
use embassy_net::Stack;
use embassy_time::Timer;
use pyro5_core::server::{
    ObjectTable, PyException, Server, ServerConfig, StreamConfig, StreamCursor, StreamStore, Streams,
};
use pyro5_embassy::{ConnectionStorage, SeededEntropy, ServeConfig, serve};
use pyro5_macros::expose;

/// The device's TCP port.
pub const PORT: u16 = 9999;
/// The object id the calculator is registered under.
pub const OBJECT: &str = "calc";
/// Where the daemon says it is (`info()`).
pub const LOCATION: &str = "10.42.0.1:9999";
/// Connections served at once.
pub const CONNECTIONS: usize = 4;
/// Socket buffer bytes per direction and connection.
pub const SOCKET: usize = 2048;
/// Largest request (and reply) a connection holds, header included.
pub const MESSAGE: usize = 4096;
/// Item streams open at once.
pub const STREAMS: usize = 4;

/// What the test thread can see of the device without a call.
#[derive(Debug, Default)]
pub struct Probe {
    /// The sum of every `bump`.
    pub bumps: AtomicU32,
    /// The item streams open in the daemon, sampled every 10 ms.
    pub streams: AtomicUsize,
}

impl Probe {
    /// The sum of every `bump` so far.
    pub fn bumps(&self) -> u32 {
        self.bumps.load(Ordering::Relaxed)
    }

    /// The item streams open in the daemon at the last sample.
    pub fn streams(&self) -> usize {
        self.streams.load(Ordering::Relaxed)
    }
}

/// What a sensor board might serve.
pub struct Calc {
    scale: i64,
    bumps: u32,
    probe: Arc<Probe>,
}

#[expose]
impl Calc {
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    fn echo<'t>(&self, text: &'t str) -> &'t str {
        text
    }

    fn sqrt(&self, x: f64) -> Result<f64, PyException<&'static str>> {
        if x < 0.0 {
            return Err(PyException::value_error("negative input"));
        }
        Ok(x.sqrt())
    }

    #[oneway]
    fn bump(&mut self, by: u32) {
        self.bumps = self.bumps.wrapping_add(by);
        self.probe.bumps.fetch_add(by, Ordering::Relaxed);
    }

    fn bumps(&self) -> u32 {
        self.bumps
    }

    fn scaled(&self, x: i64) -> i64 {
        x * self.scale
    }

    #[getter]
    fn scale(&self) -> i64 {
        self.scale
    }

    #[setter]
    fn set_scale(&mut self, value: i64) {
        self.scale = value;
    }

    /// 30, 20, 10, then the end.
    #[stream]
    fn countdown(&mut self, cursor: &mut StreamCursor) -> Option<u32> {
        *cursor += 1;
        let step = u32::try_from(*cursor).unwrap_or(u32::MAX);
        (step <= 3).then(|| (4 - step) * 10)
    }
}

/// How the daemon is configured, where tests differ.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// When item streams expire.
    pub streams: StreamConfig,
    /// Pyro's `COMMTIMEOUT`.
    pub idle_timeout_ms: Option<u64>,
    /// How long a reply may make no progress.
    pub send_timeout_ms: Option<u64>,
}

impl Default for Settings {
    /// Pyro's stream settings, a 20 s idle timeout, the default send timeout.
    fn default() -> Self {
        Self {
            streams: StreamConfig::default(),
            idle_timeout_ms: Some(20_000),
            send_timeout_ms: ServerConfig::default().send_timeout_ms,
        }
    }
}

/// Serve a `Calc` on `stack`, port [`PORT`], forever, configured by `settings`.
pub async fn run(stack: Stack<'static>, probe: Arc<Probe>, settings: Settings) -> ! {
    let calc = RefCell::new(Calc { scale: 1, bumps: 0, probe: probe.clone() });
    let mut objects = ObjectTable::<2>::new();
    objects.register(OBJECT, &calc).expect("room for one object");
    let streams = RefCell::new(Streams::<STREAMS>::new());
    let config = ServerConfig {
        location: LOCATION,
        streams: settings.streams,
        idle_timeout_ms: settings.idle_timeout_ms,
        send_timeout_ms: settings.send_timeout_ms,
        ..ServerConfig::default()
    };
    let server = Server::new(&objects, &streams, &config);
    let entropy = SeededEntropy::new(0x5eed);
    let mut connections = [const { ConnectionStorage::<SOCKET, MESSAGE>::new() }; CONNECTIONS];
    // Only reads the count: it must not expire anything itself.
    let sample = async {
        loop {
            probe.streams.store(streams.count(), Ordering::Relaxed);
            Timer::after_millis(10).await;
        }
    };
    join(serve(stack, &server, &ServeConfig::new(PORT), &entropy, &mut connections), sample).await.0
}

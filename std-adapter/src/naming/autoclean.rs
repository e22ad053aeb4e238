//! Autoclean (Pyro's `NS_AUTOCLEAN`): a thread that removes registrations whose server
//! cannot be reached any more.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pyro5_core::server::DAEMON_OBJECT_ID;
use pyro5_core::uri::{Location, Uri};

use super::nameserver::{NAMESERVER_NAME, NameServer};
use crate::config::Config;
use crate::transport::Stream;

/// The smallest autoclean period Pyro accepts (`NS_AUTOCLEAN` must be 0 or at least 3).
pub const MIN_AUTOCLEAN: Duration = Duration::from_secs(3);

/// The environment variable with the autoclean period in seconds (Pyro's `NS_AUTOCLEAN`).
pub const NS_AUTOCLEAN_ENV: &str = "PYRO_NS_AUTOCLEAN";

/// How the autoclean thread works; [`AutoClean::every`] gives Pyro's timings for a period.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct AutoClean {
    /// How often the registrations are checked (`NS_AUTOCLEAN`).
    pub period: Duration,
    /// How long a registration must stay unreachable before it is removed (Pyro: 20 s).
    pub unreachable_grace: Duration,
    /// How often the cleaner wakes to see whether a round is due (Pyro: 2 s).
    pub poll_interval: Duration,
    /// How long each connection attempt may take (Pyro: `COMMTIMEOUT`, or 5 s when 0).
    pub connect_timeout: Duration,
}

impl AutoClean {
    /// Pyro's grace period before an unreachable registration is removed.
    pub const UNREACHABLE_GRACE: Duration = Duration::from_secs(20);
    /// Pyro's wake-up interval of the cleaner.
    pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
    /// Pyro's connection timeout when `COMMTIMEOUT` is 0.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Check every `period`, with Pyro's other timings.
    ///
    /// The fields are public so that tests (as Pyro's own, which override the minimum) can
    /// shorten every timing; a name server configured by the user should come from here or
    /// [`from_secs`](Self::from_secs).
    ///
    /// # Errors
    /// Pyro's `ValueError` text when `period` is under [`MIN_AUTOCLEAN`].
    pub fn every(period: Duration) -> Result<Self, AutoCleanError> {
        if period < MIN_AUTOCLEAN {
            return Err(AutoCleanError(format!("NS_AUTOCLEAN cannot be smaller than {}", MIN_AUTOCLEAN.as_secs())));
        }
        Ok(Self {
            period,
            unreachable_grace: Self::UNREACHABLE_GRACE,
            poll_interval: Self::POLL_INTERVAL,
            connect_timeout: Self::CONNECT_TIMEOUT,
        })
    }

    /// The `NS_AUTOCLEAN` config value in seconds: `None` (autoclean off) when it is not
    /// above 0 (or NaN), as in Pyro; an infinite value enables a cleaner that never cleans.
    ///
    /// # Errors
    /// Pyro's `ValueError` text for a value above 0 and under 3.
    pub fn from_secs(secs: f64) -> Result<Option<Self>, AutoCleanError> {
        if secs.is_nan() || secs <= 0.0 {
            return Ok(None);
        }
        let period = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
        Self::every(period).map(Some)
    }

    /// The autoclean of `config`: the period from `NS_AUTOCLEAN` (0: off) and the
    /// connection timeout from `COMMTIMEOUT` (not above 0: 5 s), as Python's name server.
    ///
    /// # Errors
    /// Pyro's `ValueError` text `NS_AUTOCLEAN cannot be smaller than 3`.
    pub fn from_config(config: &Config) -> Result<Option<Self>, AutoCleanError> {
        let Some(mut autoclean) = Self::from_secs(config.ns_autoclean)? else { return Ok(None) };
        if let Some(timeout) = config.commtimeout_duration() {
            autoclean.connect_timeout = timeout;
        }
        Ok(Some(autoclean))
    }

    /// [`from_config`](Self::from_config) with [`Config::from_env`] (`PYRO_NS_AUTOCLEAN`,
    /// `PYRO_COMMTIMEOUT`).
    ///
    /// # Errors
    /// Pyro's `ValueError` texts: those of [`Config::from_env`] (`invalid Pyro environment
    /// config value: PYRO_X=value`, ...), `NS_AUTOCLEAN cannot be smaller than 3`.
    pub fn from_env() -> Result<Option<Self>, AutoCleanError> {
        let config = Config::from_env().map_err(|e| AutoCleanError(e.to_string()))?;
        Self::from_config(&config)
    }
}

/// An autoclean setting Pyro refuses (it raises `ValueError` with this text).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct AutoCleanError(String);

impl AutoCleanError {
    /// The text, as Pyro's `ValueError` has it.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AutoCleanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AutoCleanError {}

/// The stop request shared with the cleaner thread.
#[derive(Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl StopSignal {
    fn is_set(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self) {
        *self.stopped.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    /// Wait up to `timeout`; whether a stop was asked for.
    fn wait(&self, timeout: Duration) -> bool {
        let guard = self.stopped.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, timeout, |stopped| !*stopped)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard
    }
}

/// The running autoclean thread of a name server; stopped (and joined) by
/// [`stop`](Self::stop) or when dropped. Stopping waits at most for the connection
/// attempt under way ([`AutoClean::connect_timeout`]).
///
/// As in Pyro5: every [`poll_interval`](AutoClean::poll_interval) (2 s) the cleaner looks
/// whether [`period`](AutoClean::period) (the `NS_AUTOCLEAN` value, at least 3 s) has
/// passed since its last round; a round opens a TCP connection to the location of each
/// registered URI (no Pyro handshake; the connection is closed at once), skipping
/// `Pyro.NameServer` and `Pyro.Daemon`. A name whose location refused or timed out in
/// every round for [`unreachable_grace`](AutoClean::unreachable_grace) (20 s) is removed
/// and logged at info level (`autoclean: unregistering <name>; cannot connect uri <uri>
/// for 20 sec`). So a dead server's names disappear some 20 to 25 seconds after it died.
///
/// Beyond Python: a name is only removed while it still maps to the URI that failed (a
/// server that registered again in the meantime keeps its new registration), `./u:`
/// locations are checked by connecting to the Unix socket, URIs without a location are
/// left alone, and names that went away are forgotten by the cleaner.
///
/// ```
/// use std::time::Duration;
/// use pyro5_std::naming::{AutoClean, NameServer};
///
/// let ns = NameServer::new();
/// let cleaner = ns.start_autoclean(AutoClean::every(Duration::from_secs(30))?)?;
/// cleaner.stop();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AutoCleaner {
    signal: Arc<StopSignal>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for AutoCleaner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutoCleaner").field("running", &self.thread.is_some()).finish()
    }
}

impl AutoCleaner {
    /// Start cleaning `ns` in a thread of its own.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(ns: &NameServer, config: AutoClean) -> io::Result<Self> {
        let signal = Arc::new(StopSignal::default());
        let cleaner = Cleaner { ns: ns.clone(), config, signal: Arc::clone(&signal), unreachable: HashMap::new() };
        let thread = std::thread::Builder::new().name("pyro5-ns-autoclean".into()).spawn(move || cleaner.run())?;
        log::debug!("autoclean enabled");
        Ok(Self { signal, thread: Some(thread) })
    }

    /// Stop the thread and wait for it to end.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.signal.set();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the autoclean thread panicked");
            }
        }
    }
}

impl Drop for AutoCleaner {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The cleaner thread's state.
struct Cleaner {
    ns: NameServer,
    config: AutoClean,
    signal: Arc<StopSignal>,
    /// name → (the URI that failed, since when it fails).
    unreachable: HashMap<String, (String, Instant)>,
}

impl Cleaner {
    fn run(mut self) {
        let mut last_round = Instant::now();
        while !self.signal.wait(self.config.poll_interval) {
            if last_round.elapsed() < self.config.period {
                continue;
            }
            self.round();
            last_round = Instant::now();
        }
    }

    /// Check every registration once.
    fn round(&mut self) {
        let entries = match self.ns.list(None, None) {
            Ok(entries) => entries,
            Err(e) => {
                log::warn!("autoclean: cannot list the registrations: {e}");
                return;
            }
        };
        // Rebuilt each round: names removed, registered again or reachable are forgotten.
        let mut failing = HashMap::new();
        for (name, entry) in entries {
            if self.signal.is_set() {
                return;
            }
            if name == NAMESERVER_NAME || name == DAEMON_OBJECT_ID {
                continue;
            }
            if reachable(&entry.uri, self.config.connect_timeout) != Some(false) {
                continue;
            }
            let now = Instant::now();
            let since = match self.unreachable.get(&name) {
                Some((uri, since)) if *uri == entry.uri => *since,
                _ => now,
            };
            if now.duration_since(since) < self.config.unreachable_grace {
                failing.insert(name, (entry.uri, since));
                continue;
            }
            log::info!(
                "autoclean: unregistering {name}; cannot connect uri {} for {} sec",
                entry.uri,
                self.config.unreachable_grace.as_secs()
            );
            if let Err(e) = self.ns.remove_if_uri(&name, &entry.uri) {
                log::warn!("autoclean: cannot remove {name}: {e}");
            }
        }
        self.unreachable = failing;
        if !self.unreachable.is_empty() {
            let count = self.ns.count().unwrap_or(0);
            log::debug!("autoclean: {}/{} names currently unreachable", self.unreachable.len(), count);
        }
    }
}

/// Whether the location of `uri` accepts a connection (`None`: it has no location).
fn reachable(uri: &str, timeout: Duration) -> Option<bool> {
    let parsed = Uri::parse(uri).ok()?;
    let connected = match parsed.location()? {
        Location::Tcp { host, port } => match u16::try_from(port) {
            Ok(port) => Stream::connect_tcp(host, port, Some(timeout), 0, false),
            Err(_) => return Some(false),
        },
        Location::Unix { socket } => Stream::connect_unix(socket),
    };
    Some(connected.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_pyros_config_rules() {
        assert_eq!(AutoClean::from_secs(0.0), Ok(None));
        assert_eq!(AutoClean::from_secs(-5.0), Ok(None));
        assert_eq!(AutoClean::from_secs(f64::NAN), Ok(None));
        let err = AutoClean::from_secs(2.99).unwrap_err();
        assert_eq!(err.message(), "NS_AUTOCLEAN cannot be smaller than 3");
        let config = AutoClean::from_secs(3.0).unwrap().unwrap();
        assert_eq!(config.period, Duration::from_secs(3));
        assert_eq!(config.unreachable_grace, Duration::from_secs(20));
        assert_eq!(config.poll_interval, Duration::from_secs(2));
        assert_eq!(config.connect_timeout, Duration::from_secs(5));
        assert_eq!(AutoClean::from_secs(f64::INFINITY).unwrap().unwrap().period, Duration::MAX);
    }

    #[test]
    fn reachability_is_a_tcp_connect_to_the_location() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = Duration::from_secs(2);
        assert_eq!(reachable(&format!("PYRO:obj@127.0.0.1:{port}"), t), Some(true));
        drop(listener);
        assert_eq!(reachable(&format!("PYRO:obj@127.0.0.1:{port}"), t), Some(false));
        assert_eq!(reachable("PYRO:obj@127.0.0.1:70000", t), Some(false));
        assert_eq!(reachable("PYRONAME:some.name", t), None);
        // No socket there, or (off Unix) no Unix domain sockets at all.
        assert_eq!(reachable("PYRO:obj@./u:/nonexistent/pyro5-autoclean.sock", t), Some(false));
    }

    /// The info messages logged in this test binary.
    fn logged() -> &'static Mutex<Vec<String>> {
        struct Capture(Mutex<Vec<String>>);
        impl log::Log for Capture {
            fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
                metadata.level() <= log::Level::Info
            }
            fn log(&self, record: &log::Record<'_>) {
                if self.enabled(record.metadata()) {
                    self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(record.args().to_string());
                }
            }
            fn flush(&self) {}
        }
        static CAPTURE: std::sync::OnceLock<&'static Capture> = std::sync::OnceLock::new();
        let capture = CAPTURE.get_or_init(|| {
            let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
            if log::set_logger(capture).is_ok() {
                log::set_max_level(log::LevelFilter::Info);
            }
            capture
        });
        &capture.0
    }

    fn quick(period_ms: u64, grace_ms: u64) -> AutoClean {
        AutoClean {
            period: Duration::from_millis(period_ms),
            unreachable_grace: Duration::from_millis(grace_ms),
            poll_interval: Duration::from_millis(50),
            connect_timeout: Duration::from_secs(1),
        }
    }

    /// Poll `check` every 50 ms for up to `limit`.
    fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if check() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        check()
    }

    #[test]
    fn unreachable_names_go_after_the_grace_period_live_ones_and_the_name_server_stay() {
        let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let live_uri = format!("PYRO:live@127.0.0.1:{}", live.local_addr().unwrap().port());
        let dead_uri = format!("PYRO:dead@127.0.0.1:{}", dead.local_addr().unwrap().port());
        drop(dead);
        let ns = NameServer::new();
        ns.register(NAMESERVER_NAME, "PYRO:Pyro.NameServer@127.0.0.1:1", false, None).unwrap();
        ns.register(DAEMON_OBJECT_ID, "PYRO:Pyro.Daemon@127.0.0.1:1", false, None).unwrap();
        ns.register("live", &live_uri, false, None).unwrap();
        ns.register("dead", &dead_uri, false, None).unwrap();
        ns.register("unlocated", "PYRONAME:elsewhere", false, None).unwrap();
        let log = logged();
        let started = Instant::now();
        let cleaner = ns.start_autoclean(quick(100, 1500)).unwrap();
        assert!(eventually(Duration::from_secs(10), || ns.lookup("dead").is_err()), "dead name removed");
        assert!(started.elapsed() >= Duration::from_millis(1500), "not before the grace period");
        let said = format!("autoclean: unregistering dead; cannot connect uri {dead_uri} for 1 sec");
        assert!(log.lock().unwrap().contains(&said), "logged as Pyro logs it: {said}");
        for name in [NAMESERVER_NAME, DAEMON_OBJECT_ID, "live", "unlocated"] {
            assert!(ns.lookup(name).is_ok(), "{name} stays");
        }
        let begun = Instant::now();
        cleaner.stop();
        assert!(begun.elapsed() < Duration::from_secs(2), "stops promptly");
    }

    #[test]
    fn a_name_registered_again_keeps_its_new_registration() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_uri = format!("PYRO:dead@127.0.0.1:{}", dead.local_addr().unwrap().port());
        drop(dead);
        let ns = NameServer::new();
        ns.register("moving", &dead_uri, false, None).unwrap();
        let mut cleaner = Cleaner {
            ns: ns.clone(),
            config: quick(0, 0),
            signal: Arc::new(StopSignal::default()),
            unreachable: HashMap::new(),
        };
        // Found unreachable, then registered again at a live location before removal.
        cleaner.config.unreachable_grace = Duration::from_secs(60);
        cleaner.round();
        assert_eq!(cleaner.unreachable.len(), 1);
        let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let live_uri = format!("PYRO:moved@127.0.0.1:{}", live.local_addr().unwrap().port());
        ns.register("moving", &live_uri, false, None).unwrap();
        cleaner.round();
        assert!(cleaner.unreachable.is_empty());
        assert_eq!(ns.lookup("moving").unwrap().uri, live_uri);
        // The storage changing between the check and the removal: only the URI checked goes.
        assert!(!ns.remove_if_uri("moving", &dead_uri).unwrap());
        assert!(ns.remove_if_uri("moving", &live_uri).unwrap());
    }

    #[test]
    fn dropping_the_cleaner_ends_its_thread() {
        let ns = NameServer::new();
        let cleaner = AutoCleaner::start(&ns, AutoClean::every(Duration::from_secs(3)).unwrap()).unwrap();
        let begun = Instant::now();
        drop(cleaner);
        assert!(begun.elapsed() < Duration::from_secs(1));
    }
}

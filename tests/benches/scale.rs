//! The scale benchmark: 10,000 connections to our echo daemon (in a process of its own, so
//! that its memory is its own), 1,000 of them calling `echo` continuously while the 9,000
//! others stay idle, then one call on every one of them; run on pyro5-std's multiplexed
//! daemon, then on pyro5-tokio's, and printed side by side.
//!
//! The client side is raw non-blocking sockets polled with mio in a few threads, each
//! connection speaking Pyro through pyro5-core's sans-IO `ClientSession` (serpent): every
//! connection handshakes (CONNECT/CONNECTOK), every reply's sequence number and echoed text
//! are checked. It reports the errors (there must be none), the calls/s, the daemon's CPU time
//! per call under load and its resident memory (`VmRSS`) after binding, with every connection
//! open and idle, under load, and after all closed.
//!
//! `cargo bench -p pyro5-interop-tests --bench scale` (`SCALE_BENCH_SECONDS` of load, default
//! 10; `SCALE_BENCH_CONNECTIONS`, default 10,000). Without `--bench` (`cargo test --benches`):
//! 500 connections, 50 calling, 1 s. Linux only (`/proc`, `RLIMIT_NOFILE`).

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{ErrorKind, Read, Write};
    use std::net::SocketAddr;
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};

    use mio::net::TcpStream;
    use mio::{Events, Interest, Poll, Token};
    use pyro5_core::client::{CallSpec, ClientSession, Extras, Reply};
    use pyro5_core::limits::Limits;
    use pyro5_core::wire::{Decoder, Progress, SerializerId};
    use pyro5_interop_tests::bench::{
        self, DaemonProcess, clock_ticks_per_second, cpu_ticks, full_run, rss_kib, serve_if_daemon_child,
    };
    use pyro5_std::ServerType;
    use pyro5_std::echo::OBJECT_ID;
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

    /// Client threads (the machine the figures in the README come from has 2 cores).
    const THREADS: usize = 2;
    /// File descriptors besides the connections (the Python-free bench needs few).
    const FD_SLACK: u64 = 200;
    /// Connections opened at once by a thread: all threads together stay below the daemon's
    /// listen backlog (128), or connects wait for SYN retransmits.
    const OPEN_WINDOW: usize = 100 / THREADS;
    /// How long a handshake or a call may take before it counts as an error.
    const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
    /// Most error texts kept per thread (all are counted).
    const KEEP_ERRORS: usize = 5;

    struct Plan {
        connections: usize,
        active: usize,
        seconds: f64,
    }

    fn plan() -> Plan {
        let (connections, active, seconds) = if full_run() { (10_000, 1_000, 10.0) } else { (500, 50, 1.0) };
        let connections =
            std::env::var("SCALE_BENCH_CONNECTIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(connections);
        let active = active.min(connections);
        Plan { connections, active, seconds: bench::seconds("SCALE_BENCH_SECONDS", seconds, 1.0) }
    }

    /// Raise this process's soft `RLIMIT_NOFILE` to the hard limit (the daemon process,
    /// started afterwards, inherits it); the connections that fit: `wanted`, or fewer, with
    /// the reason printed, when the hard limit is lower.
    fn raise_fd_limit(wanted: usize) -> usize {
        let needed = wanted as u64 + FD_SLACK;
        let limit = getrlimit(Resource::Nofile);
        let hard = limit.maximum.unwrap_or(u64::MAX);
        let soft = limit.current.unwrap_or(u64::MAX);
        if soft < hard {
            if let Err(e) = setrlimit(Resource::Nofile, Rlimit { current: Some(hard), maximum: limit.maximum }) {
                println!("cannot raise RLIMIT_NOFILE from {soft} to {hard}: {e}");
            }
        }
        let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
        if soft >= needed {
            return wanted;
        }
        let fits = soft.saturating_sub(FD_SLACK) as usize;
        println!(
            "RLIMIT_NOFILE is {soft} (hard limit {hard}): {needed} file descriptors are needed for {wanted} \
             connections, so only {fits} are opened (raise the hard limit, e.g. `ulimit -Hn`, as root)"
        );
        fits
    }

    /// Why a connection failed.
    type Failure = String;

    /// What a connection received.
    enum Got {
        Connected,
        Echoed,
    }

    /// One client connection.
    struct Conn {
        stream: TcpStream,
        client: ClientSession,
        decoder: Decoder<Vec<u8>>,
        tx: Vec<u8>,
        tx_len: usize,
        tx_pos: usize,
        /// Its number among all connections (part of what it echoes).
        id: usize,
        /// The text the call in flight echoes.
        expected: Option<String>,
        /// A request is in flight.
        waiting: bool,
        calls: u64,
        dead: bool,
    }

    impl Conn {
        fn new(stream: TcpStream, id: usize) -> Self {
            Self {
                stream,
                client: ClientSession::new(SerializerId::Serpent),
                decoder: Decoder::new(Vec::new(), Limits::default()),
                tx: Vec::new(),
                tx_len: 0,
                tx_pos: 0,
                id,
                expected: None,
                waiting: false,
                calls: 0,
                dead: false,
            }
        }

        fn send_connect(&mut self) -> Result<(), Failure> {
            let extras = Extras::default();
            let len = self
                .client
                .write_connect(OBJECT_ID, "hello", &extras, Limits::default(), &mut self.tx)
                .map_err(|e| format!("CONNECT: {e}"))?;
            self.start_send(len)
        }

        fn send_call(&mut self) -> Result<(), Failure> {
            let text = format!("{}:{}", self.id, self.calls);
            let spec = CallSpec { object: OBJECT_ID, method: "echo", oneway: false, batch: false };
            let extras = Extras::default();
            let sent = self
                .client
                .write_call(&spec, &(text.as_str(),), None::<&()>, &extras, Limits::default(), &mut self.tx)
                .map_err(|e| format!("INVOKE: {e}"))?;
            self.expected = Some(text);
            self.start_send(sent.len)
        }

        fn start_send(&mut self, len: usize) -> Result<(), Failure> {
            (self.tx_len, self.tx_pos, self.waiting) = (len, 0, true);
            self.flush()
        }

        /// Write what is left of the request, as far as the socket takes it now.
        fn flush(&mut self) -> Result<(), Failure> {
            while self.tx_pos < self.tx_len {
                match self.stream.write(&self.tx[self.tx_pos..self.tx_len]) {
                    Ok(0) => return Err("the daemon closed the connection".into()),
                    Ok(n) => self.tx_pos += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("send: {e}")),
                }
            }
            Ok(())
        }

        /// Read what arrived: the reply, once it is complete and checked.
        fn receive(&mut self) -> Result<Option<Got>, Failure> {
            loop {
                let buf = self.decoder.read_buf().map_err(|e| format!("receive: {e}"))?;
                match self.stream.read(buf) {
                    Ok(0) => return Err("the daemon closed the connection".into()),
                    Ok(n) => {
                        if let Progress::Complete { .. } =
                            self.decoder.commit(n).map_err(|e| format!("receive: {e}"))?
                        {
                            return self.check_reply().map(Some);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("receive: {e}")),
                }
            }
        }

        fn check_reply(&mut self) -> Result<Got, Failure> {
            let message = self.decoder.message().ok_or("a complete message that does not read")?;
            if !self.waiting {
                return Err("a message nobody asked for".into());
            }
            self.waiting = false;
            if !self.client.is_ready() {
                self.client.read_connect(&message).map_err(|e| format!("handshake: {e}"))?;
                return Ok(Got::Connected);
            }
            let reply = self.client.read_reply(&message).map_err(|e| format!("reply: {e}"))?;
            let Reply::Value(payload) = reply else { return Err(format!("not a return value: {reply:?}")) };
            let echoed: String = payload.decode().map_err(|e| format!("reply payload: {e}"))?;
            let expected = self.expected.take();
            if expected.as_deref() != Some(echoed.as_str()) {
                return Err(format!("echo({expected:?}) answered {echoed:?}"));
            }
            self.calls += 1;
            Ok(Got::Echoed)
        }
    }

    /// What a client thread reports.
    #[derive(Default)]
    struct Report {
        opened: usize,
        open_seconds: f64,
        load_calls: u64,
        load_seconds: f64,
        answered: usize,
        errors: usize,
        first_errors: Vec<String>,
    }

    /// A client thread's connections and their poll.
    struct Worker {
        poll: Poll,
        events: Events,
        conns: Vec<Conn>,
        /// Requests in flight.
        outstanding: usize,
        report: Report,
        done: Vec<(usize, Got)>,
    }

    impl Worker {
        fn fail(&mut self, index: usize, why: Failure) {
            let conn = &mut self.conns[index];
            if conn.dead {
                return;
            }
            conn.dead = true;
            if conn.waiting {
                conn.waiting = false;
                self.outstanding -= 1;
            }
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.report.errors += 1;
            if self.report.first_errors.len() < KEEP_ERRORS {
                self.report.first_errors.push(format!("connection {}: {why}", conn.id));
            }
        }

        /// Send a call (or the CONNECT) on connection `index`.
        fn send(&mut self, index: usize, connect: bool) {
            let conn = &mut self.conns[index];
            if conn.dead {
                return;
            }
            let sent = if connect { conn.send_connect() } else { conn.send_call() };
            match sent {
                Ok(()) => self.outstanding += 1,
                Err(why) => self.fail(index, why),
            }
        }

        /// Wait up to `timeout` for events; the replies that completed go to `self.done`.
        fn pump(&mut self, timeout: Duration) {
            self.done.clear();
            if let Err(e) = self.poll.poll(&mut self.events, Some(timeout))
                && e.kind() != ErrorKind::Interrupted
            {
                let failing: Vec<usize> = (0..self.conns.len()).filter(|&i| self.conns[i].waiting).collect();
                for i in failing {
                    self.fail(i, format!("poll: {e}"));
                }
                return;
            }
            let ready: Vec<(usize, bool)> = self.events.iter().map(|ev| (ev.token().0, ev.is_writable())).collect();
            for (index, writable) in ready {
                if self.conns[index].dead {
                    continue;
                }
                if writable && let Err(why) = self.conns[index].flush() {
                    self.fail(index, why);
                    continue;
                }
                loop {
                    match self.conns[index].receive() {
                        Ok(Some(got)) => {
                            self.outstanding -= 1;
                            self.done.push((index, got));
                        }
                        Ok(None) => break,
                        Err(why) => {
                            self.fail(index, why);
                            break;
                        }
                    }
                }
            }
        }

        /// Pump until nothing is in flight, failing what is still waiting after `timeout`;
        /// `on_done` sees each completed reply (and may send the next request).
        fn settle(&mut self, timeout: Duration, mut on_done: impl FnMut(&mut Self, usize, Got)) {
            let give_up = Instant::now() + timeout;
            while self.outstanding > 0 {
                let now = Instant::now();
                if now >= give_up {
                    let late: Vec<usize> = (0..self.conns.len()).filter(|&i| self.conns[i].waiting).collect();
                    for i in late {
                        self.fail(i, format!("no reply within {timeout:?}"));
                    }
                    break;
                }
                self.pump((give_up - now).min(Duration::from_millis(100)));
                for (index, got) in std::mem::take(&mut self.done) {
                    on_done(self, index, got);
                }
            }
        }

        /// Open and handshake connections `ids`, `OPEN_WINDOW` at a time.
        fn open(&mut self, addr: SocketAddr, ids: std::ops::Range<usize>) {
            let start = Instant::now();
            let ids: Vec<usize> = ids.collect();
            for window in ids.chunks(OPEN_WINDOW) {
                for &id in window {
                    let stream = std::net::TcpStream::connect_timeout(&addr, REPLY_TIMEOUT).and_then(|s| {
                        s.set_nodelay(true)?;
                        s.set_nonblocking(true)?;
                        Ok(TcpStream::from_std(s))
                    });
                    let mut stream = match stream {
                        Ok(stream) => stream,
                        Err(e) => {
                            self.report.errors += 1;
                            if self.report.first_errors.len() < KEEP_ERRORS {
                                self.report.first_errors.push(format!("connection {id}: connect: {e}"));
                            }
                            continue;
                        }
                    };
                    let index = self.conns.len();
                    let registered = self.poll.registry().register(
                        &mut stream,
                        Token(index),
                        Interest::READABLE | Interest::WRITABLE,
                    );
                    self.conns.push(Conn::new(stream, id));
                    match registered {
                        Ok(()) => self.send(index, true),
                        Err(e) => self.fail(index, format!("register: {e}")),
                    }
                }
                self.settle(REPLY_TIMEOUT, |_, _, _| {});
            }
            self.report.opened = self.conns.iter().filter(|c| !c.dead).count();
            self.report.open_seconds = start.elapsed().as_secs_f64();
        }

        /// The first `active` connections call echo back to back for `seconds`.
        fn load(&mut self, active: usize, seconds: f64) {
            let start = Instant::now();
            let deadline = start + Duration::from_secs_f64(seconds);
            for index in 0..active.min(self.conns.len()) {
                self.send(index, false);
            }
            let mut calls = 0;
            self.settle(Duration::from_secs_f64(seconds) + REPLY_TIMEOUT, |worker, index, _| {
                calls += 1;
                if Instant::now() < deadline {
                    worker.send(index, false);
                }
            });
            self.report.load_calls = calls;
            self.report.load_seconds = start.elapsed().as_secs_f64();
        }

        /// One call on every connection still open; count the answers.
        fn check_all(&mut self) {
            for index in 0..self.conns.len() {
                self.send(index, false);
            }
            let mut answered = 0;
            self.settle(REPLY_TIMEOUT, |_, _, _| answered += 1);
            self.report.answered = answered;
        }
    }

    /// A client thread: open `ids`, then load, then check, in step with the others and the
    /// main thread (which measures the daemon between the steps).
    fn client_thread(
        poll: Poll,
        addr: SocketAddr,
        ids: std::ops::Range<usize>,
        active: usize,
        seconds: f64,
        steps: Arc<Barrier>,
    ) -> Report {
        let mut worker = Worker {
            poll,
            events: Events::with_capacity(1024),
            conns: Vec::with_capacity(ids.len()),
            outstanding: 0,
            report: Report::default(),
            done: Vec::new(),
        };
        worker.open(addr, ids);
        steps.wait(); // all open
        steps.wait(); // idle memory measured: load
        worker.load(active, seconds);
        steps.wait(); // load over
        worker.check_all();
        steps.wait(); // checked
        worker.report
    }

    fn mib(kib: u64) -> String {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    }

    /// A daemon under test.
    #[derive(Clone, Copy)]
    enum Server {
        /// pyro5-std's multiplexed server.
        Multiplex,
        /// pyro5-tokio's daemon (a task per connection).
        Tokio,
    }

    impl Server {
        fn name(self) -> &'static str {
            match self {
                Self::Multiplex => "pyro5 daemon (multiplex)",
                Self::Tokio => "pyro5-tokio daemon",
            }
        }

        fn start(self, max_connections: usize) -> DaemonProcess {
            match self {
                Self::Multiplex => DaemonProcess::start(ServerType::Multiplex, max_connections),
                Self::Tokio => DaemonProcess::start_tokio(max_connections),
            }
        }
    }

    /// What was measured of one daemon.
    struct Outcome {
        opened: u64,
        open_seconds: f64,
        calls: u64,
        calls_per_second: f64,
        /// Daemon CPU time under load, in clock ticks.
        cpu_ticks: u64,
        answered: u64,
        errors: u64,
        first_errors: Vec<String>,
        /// `VmRSS` in KiB: after binding, all idle, under load, after all closed.
        rss: [u64; 4],
    }

    impl Outcome {
        fn cpu_per_call(&self) -> f64 {
            self.cpu_ticks as f64 * 1e6 / clock_ticks_per_second() as f64 / self.calls.max(1) as f64
        }

        fn kib_per_connection(&self) -> f64 {
            self.rss[1].saturating_sub(self.rss[0]) as f64 / self.opened.max(1) as f64
        }
    }

    /// The whole run against `server` in a process of its own: open, load, check, close.
    fn run(server: Server, connections: usize, active: usize, seconds: f64) -> Outcome {
        let daemon = server.start(connections + 100);
        let pid = daemon.pid();
        let rss = || rss_kib(pid).expect("read the daemon's /proc/<pid>/status");
        let rss_start = rss();
        let port: u16 = daemon.uri.rsplit(':').next().and_then(|p| p.parse().ok()).expect("the uri's port");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));

        let steps = Arc::new(Barrier::new(THREADS + 1));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let ids = connections * t / THREADS..connections * (t + 1) / THREADS;
                let thread_active = active * (t + 1) / THREADS - active * t / THREADS;
                let poll = Poll::new().expect("a mio poll");
                let steps = steps.clone();
                std::thread::spawn(move || client_thread(poll, addr, ids, thread_active, seconds, steps))
            })
            .collect();
        steps.wait(); // all open
        let rss_idle = rss();
        let cpu = || cpu_ticks(pid).expect("read the daemon's /proc/<pid>/stat");
        let cpu_before = cpu();
        steps.wait(); // load starts
        let load_start = Instant::now();
        let mut rss_load = 0;
        while load_start.elapsed().as_secs_f64() < seconds * 0.9 {
            std::thread::sleep(Duration::from_secs_f64((seconds / 10.0).min(0.5)));
            rss_load = rss_load.max(rss());
        }
        steps.wait(); // load over
        let cpu_load = cpu().since(cpu_before).total();
        steps.wait(); // checked
        let reports: Vec<Report> = threads.into_iter().map(|t| t.join().expect("a client thread")).collect();
        // The connections are closed now: give the daemon a moment to see it.
        std::thread::sleep(Duration::from_millis(if full_run() { 2000 } else { 300 }));
        let rss_closed = rss();

        let sum = |f: fn(&Report) -> u64| reports.iter().map(f).sum::<u64>();
        let max = |f: fn(&Report) -> f64| reports.iter().map(f).fold(0.0, f64::max);
        let calls = sum(|r| r.load_calls);
        Outcome {
            opened: sum(|r| r.opened as u64),
            open_seconds: max(|r| r.open_seconds),
            calls,
            calls_per_second: calls as f64 / max(|r| r.load_seconds),
            cpu_ticks: cpu_load,
            answered: sum(|r| r.answered as u64),
            errors: sum(|r| r.errors as u64),
            first_errors: reports.into_iter().flat_map(|r| r.first_errors).collect(),
            rss: [rss_start, rss_idle, rss_load, rss_closed],
        }
    }

    pub fn main() {
        if serve_if_daemon_child() || std::env::args().any(|a| a == "--list") {
            return;
        }
        if !full_run() {
            println!("smoke run (cargo bench -p pyro5-interop-tests --bench scale measures for real)");
        }
        let plan = plan();
        let connections = raise_fd_limit(plan.connections);
        let active = plan.active.min(connections);
        println!(
            "each daemon in its own process (at most {} connections), one after the other; {connections} \
             connections from {THREADS} client threads (mio, pyro5-core's ClientSession, serpent), \
             {active} of them calling echo for {} s",
            connections + 100,
            plan.seconds
        );
        let servers = [Server::Multiplex, Server::Tokio];
        let outcomes: Vec<Outcome> = servers.iter().map(|&s| run(s, connections, active, plan.seconds)).collect();

        let header = |what: &str| {
            print!("\n{what:<32}");
            for server in servers {
                print!("{:>28}", server.name());
            }
            println!();
        };
        let row = |what: &str, cell: &dyn Fn(&Outcome) -> String| {
            print!("{what:<32}");
            for outcome in &outcomes {
                print!("{:>28}", cell(outcome));
            }
            println!();
        };
        header("");
        row("opened and handshaken", &|o| format!("{} in {:.2} s", o.opened, o.open_seconds));
        row("calls/s under load", &|o| format!("{:.0}", o.calls_per_second));
        row("calls under load", &|o| o.calls.to_string());
        row("daemon CPU µs a call", &|o| format!("{:.1} ({} ticks)", o.cpu_per_call(), o.cpu_ticks));
        row("answered one call afterwards", &|o| o.answered.to_string());
        row("errors (must be 0)", &|o| o.errors.to_string());
        header("daemon memory (VmRSS)");
        let idle = format!("{connections} connections idle");
        let load = format!("{active} of them calling");
        for (i, when) in ["after bind", &idle, &load, "after all closed"].into_iter().enumerate() {
            row(when, &|o| mib(o.rss[i]));
        }
        row("per idle connection", &|o| format!("{:.1} KiB", o.kib_per_connection()));
        for (server, outcome) in servers.iter().zip(&outcomes) {
            for e in &outcome.first_errors {
                println!("{}: {e}", server.name());
            }
        }
        for (server, outcome) in servers.iter().zip(&outcomes) {
            assert!(
                outcome.errors == 0 && outcome.answered as usize == connections,
                "{}: {} errors, {} of {connections} connections answered",
                server.name(),
                outcome.errors,
                outcome.answered
            );
        }
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    println!("the scale benchmark needs Linux (/proc, RLIMIT_NOFILE)");
}

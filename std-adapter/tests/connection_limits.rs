//! Connection limits per server type, as Python's: the thread server stops at
//! `THREADPOOL_SIZE`; the multiplexed server has no thread pool and holds many more
//! connections (its own cap, `max_connections_multiplex`, 10,000 by default).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pyro5_interop_tests::python;
use pyro5_std::{Config, Daemon, Proxy, ProxyError, ServerType};

/// Opens `count` proxies, binds them all, says `held` with how many it holds, waits for a
/// line on stdin, then calls `echo(i)` on each (all still open) and prints how many came
/// back right.
const HOLDER: &str = "
import sys, Pyro5.api
uri, count = sys.argv[1], int(sys.argv[2])
proxies = [Pyro5.api.Proxy(uri) for _ in range(count)]
for p in proxies:
    p._pyroBind()
print('held', len(proxies), flush=True)
sys.stdin.readline()
print('answered', sum(1 for i, p in enumerate(proxies) if p.echo(i) == i), flush=True)
";

fn serve(config: &Config) -> (Daemon, String, std::thread::JoinHandle<std::io::Result<()>>) {
    pyro5_interop_tests::echo_daemon::serve_echo(config, "test.echoserver")
}

fn wait_for(daemon: &Daemon, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while daemon.connection_count() != count {
        assert!(Instant::now() < deadline, "{} connections, not {count}", daemon.connection_count());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_multiplexed_server_holds_200_python_connections_at_once_and_each_answers() {
    // THREADPOOL_SIZE is the thread server's: far below 200 here, and no matter.
    let config = Config { servertype: ServerType::Multiplex, threadpool_size: 8, ..Config::default() };
    let (daemon, uri, thread) = serve(&config);
    let mut holder = Command::new(python())
        .args(["-W", "ignore", "-c", HOLDER, &uri, "200"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python");
    let mut out = BufReader::new(holder.stdout.take().expect("piped"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "held 200");
    wait_for(&daemon, 200);
    // One more, from Rust, while the 200 are held: served too.
    let extra = Proxy::with_config(&uri, &config).expect("uri");
    assert_eq!(extra.call::<String, _>("echo", ("201st",)).expect("call"), "201st");
    assert_eq!(daemon.connection_count(), 201);
    holder.stdin.take().expect("piped").write_all(b"go\n").expect("write");
    line.clear();
    out.read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "answered 200");
    assert!(holder.wait().expect("wait").success());
    drop(extra);
    daemon.shutdown();
    thread.join().expect("serving thread").expect("request loop");
}

#[test]
fn each_server_type_refuses_beyond_its_own_cap() {
    for (servertype, config, refusal) in [
        (
            ServerType::Thread,
            Config { servertype: ServerType::Thread, threadpool_size: 3, threadpool_size_min: 1, ..Config::default() },
            "no free workers, increase server threadpool size",
        ),
        (
            ServerType::Multiplex,
            Config {
                servertype: ServerType::Multiplex,
                threadpool_size: 1,
                max_connections_multiplex: 3,
                ..Config::default()
            },
            "too many connections, increase max_connections_multiplex",
        ),
    ] {
        let (daemon, uri, thread) = serve(&config);
        let mut held: Vec<Proxy> = (0..3).map(|_| Proxy::with_config(&uri, &config).expect("uri")).collect();
        for proxy in &mut held {
            proxy.bind().expect("bind");
        }
        wait_for(&daemon, 3);
        let fourth = Proxy::with_config(&uri, &config).expect("uri");
        match fourth.bind() {
            Err(ProxyError::Rejected { reason, .. }) => assert_eq!(reason, refusal, "{servertype}"),
            other => panic!("{servertype}: {other:?}"),
        }
        for (i, proxy) in held.iter_mut().enumerate() {
            assert_eq!(proxy.call::<usize, _>("echo", (i,)).expect("call"), i, "{servertype}");
        }
        daemon.shutdown();
        thread.join().expect("serving thread").expect("request loop");
    }
}

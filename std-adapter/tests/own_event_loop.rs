//! The two own-event-loop examples, run by the real Python Pyro5 client: `own_loop_udp` (a
//! daemon and a UDP echo in one mio loop) serves Python's echo suite and concurrent clients
//! while the test's datagrams keep coming back, and `own_loop_nameserver` (a name server and
//! an application daemon in one loop) serves a Python client that looks the object up,
//! calls it, and registers a name. The examples' loops are included here as they are.
#![cfg(unix)]

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyro5_interop_tests::{python, run_script};
use pyro5_std::echo::{EchoServer, OBJECT_ID};
use pyro5_std::naming::NameServer;
use pyro5_std::{Daemon, DaemonConfig};

#[path = "../examples/own_loop_udp.rs"]
#[allow(dead_code)]
mod udp_example;

// Both examples load the loop they share (`examples/common/own_loop.rs`) as a module of
// their own; each is a crate on its own, here they are two modules of one.
#[path = "../examples/own_loop_nameserver.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod nameserver_example;

fn localhost() -> DaemonConfig {
    DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() }
}

#[test]
fn python_calls_pyro_while_the_same_loop_echoes_udp_datagrams() {
    let daemon = Daemon::new(localhost()).expect("bind");
    let uri = daemon.register_concurrent(EchoServer::new(), Some(OBJECT_ID)).expect("register");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let udp_addr = udp.local_addr().expect("udp address");
    let stop = Arc::new(AtomicBool::new(false));
    let looping = {
        let (daemon, stop) = (daemon.clone(), stop.clone());
        std::thread::spawn(move || udp_example::serve(&daemon, udp, &stop))
    };
    let python = std::thread::spawn(move || {
        run_script("echo_suite.py", &[&uri, "--serializers", "serpent,msgpack"]);
        run_script("concurrent_clients.py", &[&uri, "--clients", "8", "--calls", "100"]);
    });
    let client = UdpSocket::bind("127.0.0.1:0").expect("udp client");
    client.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
    let (mut answered, mut while_python_ran) = (0, 0);
    let mut buf = [0u8; 64];
    while !python.is_finished() || answered < 3 {
        let datagram = format!("datagram {answered}");
        client.send_to(datagram.as_bytes(), udp_addr).expect("send");
        let (n, from) = client.recv_from(&mut buf).expect("the loop echoes datagrams");
        assert_eq!((&buf[..n], from), (datagram.as_bytes(), udp_addr));
        answered += 1;
        while_python_ran += usize::from(!python.is_finished());
        std::thread::sleep(Duration::from_millis(20));
    }
    python.join().expect("the Python clients passed");
    assert!(while_python_ran >= 5, "{while_python_ran} datagrams answered while Python called");
    assert_eq!(daemon.connection_count(), 0, "Python's connections closed");
    stop.store(true, Ordering::Release);
    looping.join().expect("loop thread").expect("loop");
    assert!(daemon.is_shutting_down());
}

#[test]
fn one_loop_serves_a_name_server_and_a_daemon_to_python() {
    let ns_daemon = Daemon::new(localhost()).expect("bind");
    let nameserver = NameServer::new();
    let ns_uri = nameserver.serve(&ns_daemon).expect("name server");
    let daemon = Daemon::new(localhost()).expect("bind");
    let uri = daemon.register_concurrent(EchoServer::new(), None).expect("register");
    nameserver.register(nameserver_example::ECHO_NAME, &uri, false, None).expect("register the name");
    let stop = Arc::new(AtomicBool::new(false));
    let looping = {
        let (ns_daemon, daemon, stop) = (ns_daemon.clone(), daemon.clone(), stop.clone());
        std::thread::spawn(move || nameserver_example::serve(&[&ns_daemon, &daemon], &stop))
    };
    let code = "import sys, Pyro5.api\n\
                ns = Pyro5.api.Proxy(sys.argv[1])\n\
                uri = ns.lookup('example.eventloop.echo')\n\
                echo = Pyro5.api.Proxy(uri)\n\
                for i in range(50):\n    assert echo.echo([i, 'x']) == [i, 'x']\n    assert 'example.eventloop.echo' in ns.list()\n\
                byname = Pyro5.api.Proxy('PYRONAME:example.eventloop.echo@%s:%d' % (ns._pyroUri.host, ns._pyroUri.port))\n\
                assert byname.echo('by name') == 'by name'\n\
                ns.register('example.eventloop.python', str(uri))\n\
                print('ok', ns.count())\n";
    let out = std::process::Command::new(python()).arg("-c").arg(code).arg(&ns_uri).output().expect("python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), "ok 3", "the name server, the echo object and Python's registration");
    assert_eq!(nameserver.lookup("example.eventloop.python").expect("registered by Python").uri, uri);
    stop.store(true, Ordering::Release);
    looping.join().expect("loop thread").expect("loop");
}

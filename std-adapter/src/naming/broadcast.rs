//! The name server's broadcast responder (`docs/name-server.md`, "Broadcast"): answers the UDP
//! datagram `GET_NSURI` with the name server's URI, so that clients find it with `locate_ns()`
//! without knowing its host.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use pyro5_core::uri::{Location, Uri};

/// The discovery request, exactly (Pyro5 compares the whole datagram).
pub const GET_NSURI: &[u8] = b"GET_NSURI";

/// Pyro's default broadcast port (`NS_BCPORT`).
pub const NS_BCPORT: u16 = 9091;

/// A running broadcast responder; stops when [`close`](Self::close)d or dropped.
#[derive(Debug)]
pub struct BroadcastServer {
    local: SocketAddr,
    running: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl BroadcastServer {
    /// Bind UDP `host:port` (Python's `NS_BCHOST`, default all interfaces, and
    /// `NS_BCPORT`; port 0 picks a free one) and answer `GET_NSURI` with `ns_uri` in a
    /// thread. When the URI's host is `0.0.0.0`, each answer carries the address of the
    /// interface that faces the requester instead.
    ///
    /// # Errors
    /// The socket's error.
    pub fn start(ns_uri: &str, host: Option<&str>, port: u16) -> io::Result<Self> {
        let host = host.filter(|h| !h.is_empty()).unwrap_or("0.0.0.0");
        let sock = UdpSocket::bind((host, port))?;
        sock.set_broadcast(true)?;
        sock.set_read_timeout(Some(Duration::from_millis(500)))?;
        let local = sock.local_addr()?;
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let uri = ns_uri.to_string();
        let thread =
            std::thread::Builder::new().name("pyro5-ns-broadcast".into()).spawn(move || serve(&sock, &uri, &flag))?;
        Ok(Self { local, running, thread: Some(thread) })
    }

    /// Where it listens (Python's `locationStr`: `host:port`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stop answering and wait for the thread.
    pub fn close(&mut self) {
        self.running.store(false, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for BroadcastServer {
    fn drop(&mut self) {
        self.close();
    }
}

fn serve(sock: &UdpSocket, uri: &str, running: &AtomicBool) {
    let mut buf = [0u8; 100];
    while running.load(Ordering::Acquire) {
        let Ok((n, peer)) = sock.recv_from(&mut buf) else { continue };
        if buf.get(..n) != Some(GET_NSURI) {
            continue;
        }
        let answer = answer_for(uri, peer);
        let _ = sock.send_to(answer.as_bytes(), peer);
    }
}

/// The URI to send to `peer`: `0.0.0.0` replaced by the local address that routes to it.
fn answer_for(uri: &str, peer: SocketAddr) -> String {
    let Ok(parsed) = Uri::parse(uri) else { return uri.to_string() };
    match parsed.location() {
        Some(Location::Tcp { host: "0.0.0.0", port }) => {
            let local = UdpSocket::bind(("0.0.0.0", 0))
                .and_then(|s| s.connect(peer).and_then(|()| s.local_addr()))
                .map(|a| a.ip().to_string());
            match local {
                Ok(ip) => {
                    let location = Location::Tcp { host: &ip, port };
                    Uri::new(parsed.protocol(), parsed.object(), Some(location)).to_string()
                }
                Err(_) => uri.to_string(),
            }
        }
        _ => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_get_nsuri_only() {
        let mut bc = BroadcastServer::start("PYRO:Pyro.NameServer@0.0.0.0:9090", Some("127.0.0.1"), 0).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
        client.send_to(b"get_nsuri", bc.local_addr()).unwrap();
        client.send_to(GET_NSURI, bc.local_addr()).unwrap();
        let mut buf = [0u8; 200];
        let (n, _) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"PYRO:Pyro.NameServer@127.0.0.1:9090");
        assert!(client.recv_from(&mut buf).is_err(), "only one answer");
        bc.close();
    }
}

//! A way in for OS-socket clients (`pyro5_std::Proxy`): a std `TcpListener` on 127.0.0.1
//! whose connections are each relayed, both directions, to a `TcpSocket` of the client
//! stack connected to the device's daemon.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration as StdDuration;

use embassy_futures::join::join;
use embassy_futures::select::select;
use embassy_net::tcp::TcpSocket;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::{Channel, TrySendError};
use embassy_time::{Duration, with_timeout};

use super::world::{Net, World};

type Accepted = Channel<CriticalSectionRawMutex, TcpStream, 2>;

/// Bytes read from a std socket on its reader thread, for the relay on the executor.
struct Pipe {
    chunks: Channel<CriticalSectionRawMutex, Vec<u8>, 8>,
    /// The relay is over: nobody takes chunks any more.
    closed: AtomicBool,
}

/// Hand `item` over, waiting while the channel is full, unless `give_up` is set.
fn push<T, const N: usize>(channel: &Channel<CriticalSectionRawMutex, T, N>, mut item: T, give_up: &AtomicBool) {
    loop {
        match channel.try_send(item) {
            Ok(()) => return,
            Err(TrySendError::Full(back)) => item = back,
        }
        if give_up.load(Ordering::Relaxed) {
            return;
        }
        thread::sleep(StdDuration::from_millis(1));
    }
}

/// Listen on 127.0.0.1 (an ephemeral port) and relay every connection to the device's
/// daemon, two at a time; the address to give a std proxy.
pub fn start(world: &World) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let address = listener.local_addr().expect("the port");
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let accepted = Arc::new(Accepted::new());
    let stop = world.stopped();
    let queue = accepted.clone();
    thread::Builder::new()
        .name("bridge-accept".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_nodelay(true);
                        push(&queue, stream, &stop);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(StdDuration::from_millis(2)),
                    Err(_) => return,
                }
            }
        })
        .expect("an accept thread");
    world.spawn(move |net| async move {
        let slot = || async {
            loop {
                let stream = accepted.receive().await;
                relay(net, stream).await;
            }
        };
        join(slot(), slot()).await;
    });
    address
}

/// Relay one std connection until either side closes it.
async fn relay(net: Net, mut stream: TcpStream) {
    let mut rx = [0u8; 4096];
    let mut tx = [0u8; 4096];
    let mut socket = TcpSocket::new(net.client, &mut rx, &mut tx);
    socket.set_timeout(Some(Duration::from_secs(10)));
    let reader = stream.try_clone();
    let (Ok(mut reader), Ok(Ok(()))) =
        (reader, with_timeout(Duration::from_secs(5), socket.connect(Net::daemon())).await)
    else {
        let _ = stream.shutdown(Shutdown::Both);
        return;
    };
    let pipe = Arc::new(Pipe { chunks: Channel::new(), closed: AtomicBool::new(false) });
    let feed = pipe.clone();
    let spawned = thread::Builder::new().name("bridge-read".into()).spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            let n = reader.read(&mut buf).unwrap_or(0);
            // An empty chunk says the std side closed.
            push(&feed.chunks, buf[..n].to_vec(), &feed.closed);
            if n == 0 || feed.closed.load(Ordering::Relaxed) {
                return;
            }
        }
    });
    if spawned.is_ok() {
        let (mut from_device, mut to_device) = socket.split();
        let writer = &mut stream;
        let to_std = async {
            let mut buf = [0u8; 2048];
            loop {
                match from_device.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if writer.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        };
        let from_std = async {
            loop {
                let chunk = pipe.chunks.receive().await;
                let mut rest = chunk.as_slice();
                if rest.is_empty() {
                    return;
                }
                while !rest.is_empty() {
                    match to_device.write(rest).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => rest = &rest[n..],
                    }
                }
            }
        };
        select(to_std, from_std).await;
    }
    pipe.closed.store(true, Ordering::Relaxed);
    let _ = stream.shutdown(Shutdown::Both);
    socket.close();
    let _ = with_timeout(Duration::from_secs(2), socket.flush()).await;
}

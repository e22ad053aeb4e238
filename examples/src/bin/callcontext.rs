//! Pyro5's `callcontext` example: an `EchoServer` (one per connection) that prints the
//! context of each call (client address, sequence number, correlation id, the client's
//! `XYZZ` annotation). The daemon adds a `DDAA` annotation to every reply (its
//! `DaemonConfig::annotations`), as Python's example daemon does by overriding
//! `Daemon.annotations()`. Served as `example.context`; the client asks for the URI.

use pyro5_examples::uuid;
use pyro5_std::core::server::{CallContext, Replied, Reply};
use pyro5_std::core::wire::AnnotationId;
use pyro5_std::{Config, Daemon, DaemonConfig, InstanceMode, expose};

/// The response annotation every reply carries, and its value.
const DDAA: AnnotationId = annotation(*b"DDAA");
const DDAA_VALUE: &[u8] = b"custom response annotation set by the daemon";
/// The annotation the client sends.
const XYZZ: AnnotationId = annotation(*b"XYZZ");

const fn annotation(id: [u8; 4]) -> AnnotationId {
    match AnnotationId::new(id) {
        Ok(id) => id,
        Err(_) => panic!("annotation ids are ASCII"),
    }
}

struct EchoServer;

impl EchoServer {
    /// Print the call's context, answer `message`.
    fn answer(message: &str, ctx: &CallContext<'_>, reply: Reply<'_, '_>) -> Replied {
        println!("\nGot Message: {message}");
        println!("  thread:  {:?}", std::thread::current().id());
        println!("  obj.pyroid:  {}", ctx.object_id);
        match ctx.client {
            Some(address) => println!("  context.client_sock_addr:  {address}"),
            None => println!("  context.client_sock_addr:  None"),
        }
        println!("  context.seq:  {}", ctx.seq);
        println!("  context.correlation_id: {}", uuid(ctx.correlation_id));
        if let Some(value) = ctx.annotations.get(XYZZ) {
            println!("  custom annotation 'XYZZ': {}", String::from_utf8_lossy(value));
        }
        reply.ok(message)
    }
}

#[expose]
impl EchoServer {
    fn echo(&self, message: &str, ctx: &CallContext<'_>, reply: Reply<'_, '_>) -> Replied {
        Self::answer(message, ctx, reply)
    }

    #[oneway]
    fn oneway(&self, message: &str, ctx: &CallContext<'_>, reply: Reply<'_, '_>) -> Replied {
        Self::answer(message, ctx, reply)
    }
}

fn main() -> pyro5_examples::Result {
    // Python's `Daemon()` with its config items, and the annotation on every reply.
    let config =
        DaemonConfig { annotations: vec![(DDAA, DDAA_VALUE.to_vec())], ..DaemonConfig::from(&Config::from_env()?) };
    let daemon = Daemon::new(config)?;
    let uri = daemon.register_class(InstanceMode::Session, || EchoServer, Some("example.context"))?;
    println!("Server is ready. You can use the following URI to connect:");
    println!("{uri}");
    daemon.request_loop()?;
    Ok(())
}

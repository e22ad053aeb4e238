//! Pyro5's `handshake` example: a daemon that checks each client's handshake data against
//! a secret code, answering a list of words to the right one and refusing the others with
//! the reason the client shows. It prints the URI of the daemon object (`Pyro.Daemon`),
//! which the client asks for and pings. When a client that was let in disconnects, it says
//! so with the client's address (Python's example overrides `clientDisconnect`).

use pyro5_examples::{daemon, python_address};
use pyro5_std::Peers;
use pyro5_std::core::ser::call::ConnectView;
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::{Answered, ConnectionId, DAEMON_OBJECT_ID, HandshakeAnswer, HandshakeValidator};

const SECRET_CODE: &str = "pancakes";

struct SecretCode {
    peers: Peers,
}

impl HandshakeValidator for SecretCode {
    fn validate(
        &self,
        connection: ConnectionId,
        request: &ConnectView<'_>,
        answer: HandshakeAnswer<'_, '_>,
    ) -> Answered {
        match self.peers.address(connection) {
            Some(address) => println!("Daemon received handshake request from: {}", python_address(address)),
            None => println!("Daemon received handshake request"),
        }
        let data = request.handshake::<Value>();
        match &data {
            Ok(Value::Str(text)) => println!("Handshake data: {text}"),
            Ok(value) => println!("Handshake data: {value:?}"),
            Err(e) => println!("Handshake data unreadable: {e}"),
        }
        if matches!(&data, Ok(Value::Str(code)) if code == SECRET_CODE) {
            println!("Secret code okay! Connection accepted.");
            answer.accept(&vec!["how", "are", "you", "doing"])
        } else {
            println!("Secret code wrong! Connection refused.");
            answer.refuse(&"wrong secret code, connection refused")
        }
    }
}

fn main() -> pyro5_examples::Result {
    let daemon = daemon()?;
    daemon.set_handshake_validator(SecretCode { peers: daemon.peers() });
    let peers = daemon.peers();
    daemon.set_disconnect_hook(move |connection| match peers.address(connection) {
        Some(address) => println!("Daemon client disconnects: {}", python_address(address)),
        None => println!("Daemon client disconnects"),
    });
    println!("Server is ready. You can use the following URI to connect:");
    println!("{}", daemon.uri_for(DAEMON_OBJECT_ID));
    println!("When asked, enter the following secret code:  {SECRET_CODE}");
    daemon.request_loop()?;
    Ok(())
}

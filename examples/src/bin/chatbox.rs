//! Pyro5's `chatbox` example: one `ChatBox` for everyone (the `single` instance mode) that
//! keeps the channels, who is on them with their callback object (a proxy to the client's
//! `Chatter`), and the nicknames in use. Joining, leaving and every message are published to
//! the channel's people by a oneway call of their callback's `message`; a callback whose
//! connection was closed is dropped from its channel. Registered by name
//! (`example.chatbox.server`) in the name server.

use std::fmt;

use pyro5_examples::{Class, serve};
use pyro5_std::core::server::{PythonException, VALUE_ERROR};
use pyro5_std::{InstanceMode, Proxy, ProxyError, Reraise, expose};

/// What a call of the chat box raises: Python's `ValueError` for a bad join, or what a
/// callback raised other than its connection closed.
enum ChatError {
    Invalid(&'static str),
    Callback(Reraise),
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(text) => f.write_str(text),
            Self::Callback(e) => e.fmt(f),
        }
    }
}

impl PythonException for ChatError {
    fn class(&self) -> &str {
        match self {
            Self::Invalid(_) => VALUE_ERROR,
            Self::Callback(e) => e.class(),
        }
    }
}

/// A channel: its name and its people, each with their callback, in the order they joined.
type Channel = (String, Vec<(String, Proxy)>);

#[derive(Default)]
struct ChatBox {
    channels: Vec<Channel>,
    nicks: Vec<String>,
}

impl ChatBox {
    fn channel(&mut self, name: &str) -> Option<&mut Vec<(String, Proxy)>> {
        self.channels.iter_mut().find(|(n, _)| n == name).map(|(_, people)| people)
    }
}

#[expose]
impl ChatBox {
    #[pyro5(name = "getChannels")]
    fn get_channels(&self) -> Vec<String> {
        self.channels.iter().map(|(name, _)| name.clone()).collect()
    }

    #[pyro5(name = "getNicks")]
    fn get_nicks(&self) -> Vec<String> {
        self.nicks.clone()
    }

    /// `nick` joins `channel` (made if new) with `callback`: the nicks on the channel.
    fn join(&mut self, channel: &str, nick: &str, callback: Proxy) -> Result<Vec<String>, ChatError> {
        if channel.is_empty() || nick.is_empty() {
            return Err(ChatError::Invalid("invalid channel or nick name"));
        }
        if self.nicks.iter().any(|n| n == nick) {
            return Err(ChatError::Invalid("this nick is already in use"));
        }
        if self.channel(channel).is_none() {
            println!("CREATING NEW CHANNEL {channel}");
            self.channels.push((channel.to_string(), Vec::new()));
        }
        let people = self.channel(channel).expect("made above");
        people.push((nick.to_string(), callback));
        self.nicks.push(nick.to_string());
        println!("{nick} JOINED {channel}");
        self.publish(channel, "SERVER", &format!("** {nick} joined **"))?;
        Ok(self.channel(channel).map(|people| people.iter().map(|(n, _)| n.clone()).collect()).unwrap_or_default())
    }

    /// `nick` leaves `channel`, which goes when it is empty.
    fn leave(&mut self, channel: &str, nick: &str) -> Result<(), ChatError> {
        let Some(people) = self.channel(channel) else {
            println!("IGNORED UNKNOWN CHANNEL {channel}");
            return Ok(());
        };
        if let Some(at) = people.iter().position(|(n, _)| n == nick) {
            people.remove(at);
        }
        self.publish(channel, "SERVER", &format!("** {nick} left **"))?;
        if self.channel(channel).is_some_and(|people| people.is_empty()) {
            self.channels.retain(|(name, _)| name != channel);
            println!("REMOVED CHANNEL {channel}");
        }
        // Python's `list.remove`: a nick that is not there raises.
        let at =
            self.nicks.iter().position(|n| n == nick).ok_or(ChatError::Invalid("list.remove(x): x not in list"))?;
        self.nicks.remove(at);
        println!("{nick} LEFT {channel}");
        Ok(())
    }

    /// `msg` from `nick` to everyone on `channel` (a oneway call of each callback's
    /// `message`); a callback whose connection was closed is dropped from the channel.
    fn publish(&mut self, channel: &str, nick: &str, msg: &str) -> Result<(), ChatError> {
        let Some(people) = self.channel(channel) else {
            println!("IGNORED UNKNOWN CHANNEL {channel}");
            return Ok(());
        };
        let mut dead = Vec::new();
        for (n, callback) in people.iter() {
            callback.claim_ownership();
            match callback.call::<(), _>("message", (nick, msg)) {
                Ok(()) => {}
                Err(ProxyError::ConnectionClosed) => dead.push(n.clone()),
                Err(e) => return Err(ChatError::Callback(Reraise(e))),
            }
        }
        for n in dead {
            if let Some(at) = people.iter().position(|(known, _)| *known == n) {
                let (_, callback) = people.remove(at);
                println!("Removed dead listener {n} <Pyro5.client.Proxy for {}>", callback.uri());
            }
        }
        Ok(())
    }
}

fn main() -> pyro5_examples::Result {
    serve(
        vec![Class::new("__main__.ChatBox", InstanceMode::Single, ChatBox::default, "example.chatbox.server")],
        None,
        true,
    )
}

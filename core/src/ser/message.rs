//! A short, allocation-free copy of a `Display` message, for serde's `custom` errors.

use core::fmt::{self, Write};

/// Capacity of a [`Message`] in bytes.
pub const MESSAGE_CAPACITY: usize = 64;

/// The first [`MESSAGE_CAPACITY`] bytes of a message (cut at a character boundary, `…`
/// marking the cut).
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Message(heapless::String<MESSAGE_CAPACITY>);

impl Message {
    /// Copy what `msg` displays, truncated.
    pub fn new(msg: &dyn fmt::Display) -> Self {
        let mut w = Truncating { text: heapless::String::new(), cut: false };
        let _ = write!(w, "{msg}");
        if w.cut {
            while w.text.len() > MESSAGE_CAPACITY - '…'.len_utf8() {
                w.text.pop();
            }
            let _ = w.text.push('…');
        }
        Self(w.text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

struct Truncating {
    text: heapless::String<MESSAGE_CAPACITY>,
    cut: bool,
}

impl Write for Truncating {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.text.push(c).is_err() {
                self.cut = true;
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_with_an_ellipsis() {
        assert_eq!(Message::new(&"short").as_str(), "short");
        let long = Message::new(&"é".repeat(100).as_str());
        assert!(long.as_str().ends_with('…') && long.as_str().len() <= MESSAGE_CAPACITY);
    }
    extern crate std;
    use std::string::ToString as _;
    #[test]
    fn displays_its_text() {
        assert_eq!(Message::new(&42).to_string(), "42");
    }
}

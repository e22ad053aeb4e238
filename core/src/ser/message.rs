//! A short, allocation-free copy of a `Display` message, for serde's `custom` errors.

use core::fmt::{self, Write};
use serde::de::{Expected, Unexpected};

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

/// serde's "invalid type" and "invalid value" texts (`invalid type: floating point `1.5`,
/// expected a string`), for the formats' `de::Error::invalid_type` and `invalid_value`.
/// serde's own `Unexpected` display brings core's float formatting and `str` escaping (about
/// 12 KB of flash on a Cortex-M); here floats are written as Python's `repr` and strings
/// quoted by a small escaper, otherwise the words are serde's.
#[cfg_attr(
    not(any(feature = "serpent", feature = "json", feature = "marshal", feature = "msgpack", feature = "alloc")),
    allow(dead_code)
)]
pub(crate) struct Invalid<'a> {
    /// `"type"` or `"value"`.
    pub(crate) what: &'static str,
    pub(crate) unexpected: Unexpected<'a>,
    pub(crate) expected: &'a dyn Expected,
}

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: ", self.what)?;
        match self.unexpected {
            Unexpected::Bool(b) => write!(f, "boolean `{b}`"),
            Unexpected::Unsigned(i) => write!(f, "integer `{i}`"),
            Unexpected::Signed(i) => write!(f, "integer `{i}`"),
            Unexpected::Float(v) => {
                f.write_str("floating point `")?;
                match v {
                    v if v.is_nan() => f.write_str("nan"),
                    v if v.is_infinite() => f.write_str(if v < 0.0 { "-inf" } else { "inf" }),
                    v => crate::ser::float::write_repr(f, v),
                }?;
                f.write_char('`')
            }
            Unexpected::Char(c) => write!(f, "character `{c}`"),
            Unexpected::Str(s) => {
                f.write_str("string \"")?;
                for c in s.chars() {
                    match c {
                        '"' | '\\' => write!(f, "\\{c}"),
                        '\n' => f.write_str("\\n"),
                        '\r' => f.write_str("\\r"),
                        '\t' => f.write_str("\\t"),
                        c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c)),
                        c => f.write_char(c),
                    }?;
                }
                f.write_char('"')
            }
            Unexpected::Bytes(_) => f.write_str("byte array"),
            Unexpected::Unit => f.write_str("unit value"),
            Unexpected::Option => f.write_str("Option value"),
            Unexpected::NewtypeStruct => f.write_str("newtype struct"),
            Unexpected::Seq => f.write_str("sequence"),
            Unexpected::Map => f.write_str("map"),
            Unexpected::Enum => f.write_str("enum"),
            Unexpected::UnitVariant => f.write_str("unit variant"),
            Unexpected::NewtypeVariant => f.write_str("newtype variant"),
            Unexpected::TupleVariant => f.write_str("tuple variant"),
            Unexpected::StructVariant => f.write_str("struct variant"),
            Unexpected::Other(other) => f.write_str(other),
        }?;
        write!(f, ", expected {}", self.expected)
    }
}

/// The two `serde::de::Error` methods that describe an unexpected value with [`Invalid`].
#[cfg_attr(
    not(any(feature = "serpent", feature = "json", feature = "marshal", feature = "msgpack", feature = "alloc")),
    allow(unused_macros)
)]
macro_rules! invalid_texts {
    () => {
        fn invalid_type(unexpected: serde::de::Unexpected<'_>, expected: &dyn serde::de::Expected) -> Self {
            <Self as serde::de::Error>::custom(crate::ser::message::Invalid { what: "type", unexpected, expected })
        }

        fn invalid_value(unexpected: serde::de::Unexpected<'_>, expected: &dyn serde::de::Expected) -> Self {
            <Self as serde::de::Error>::custom(crate::ser::message::Invalid { what: "value", unexpected, expected })
        }
    };
}
#[cfg_attr(
    not(any(feature = "serpent", feature = "json", feature = "marshal", feature = "msgpack", feature = "alloc")),
    allow(unused_imports)
)]
pub(crate) use invalid_texts;

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

    #[test]
    fn invalid_texts_are_serdes_with_python_floats() {
        let text = |what, unexpected| Invalid { what, unexpected, expected: &"a thing" }.to_string();
        assert_eq!(text("type", Unexpected::Float(1.5)), "invalid type: floating point `1.5`, expected a thing");
        assert_eq!(text("type", Unexpected::Float(1e20)), "invalid type: floating point `1e+20`, expected a thing");
        assert_eq!(text("type", Unexpected::Float(f64::NAN)), "invalid type: floating point `nan`, expected a thing");
        assert_eq!(text("value", Unexpected::Str("a\"b\n")), "invalid value: string \"a\\\"b\\n\", expected a thing");
        // Everything but floats reads exactly as serde's own text.
        for u in [
            Unexpected::Bool(true),
            Unexpected::Signed(-3),
            Unexpected::Str("é\u{1}"),
            Unexpected::Seq,
            Unexpected::Other("x"),
        ] {
            assert_eq!(text("type", u), std::format!("invalid type: {u}, expected a thing"));
        }
    }
}

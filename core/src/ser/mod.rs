//! The four Pyro serializers as serde formats (`docs/serializers.md`).
//!
//! Each of `serpent` (id 1), `marshal` (2), `json` (3) and `msgpack` (4) has a serde
//! `Serializer` writing into an [`Output`] (a caller buffer, an `embedded_io::Write`, or a
//! `Vec` with `alloc`) and a `Deserializer` borrowing from the received payload. Each is
//! compiled in by the cargo feature of its name (all four by default); a message in a
//! serializer that is left out is treated as one in an unknown serializer
//! ([`SerializerId::is_enabled`](crate::wire::SerializerId::is_enabled)). Python's types that serde lacks travel by the contract in [`python`].
//! Numbers and text follow Python exactly: floats as Python's `repr` ([`float`]).
//!
//! Every deserializer takes input from the network: nesting is limited (by default to
//! [`DEFAULT_MAX_DEPTH`] levels; connections read payloads within their
//! [`Limits::max_nesting`](crate::limits::Limits::max_nesting)), nothing recurses without
//! that bound and each level costs little stack, nothing panics, and errors carry the byte
//! offset where the input went wrong.

/// The writing functions every format offers on top of its own `to_output`: into a caller
/// buffer, an `embedded_io::Write`, or (feature `alloc`) a new `Vec`.
#[cfg(any(feature = "serpent", feature = "json", feature = "marshal", feature = "msgpack"))]
macro_rules! output_functions {
    ($format:literal) => {
        #[doc = concat!("Write `value` as ", $format, " at the start of `buf`; returns the length written.")]
        ///
        /// # Errors
        /// As [`to_output`]; a full `buf` is an output error
        /// ([`OutputError::BufferFull`](crate::ser::OutputError::BufferFull)).
        pub fn to_slice<T: ?Sized + serde::Serialize>(value: &T, buf: &mut [u8]) -> Result<usize, Error> {
            let mut out = crate::ser::SliceOutput::new(buf);
            to_output(value, &mut out)?;
            Ok(out.len())
        }

        #[doc = concat!("Write `value` as ", $format, " into an [`embedded_io::Write`].")]
        ///
        /// # Errors
        /// As [`to_output`].
        pub fn to_writer<W: embedded_io::Write, T: ?Sized + serde::Serialize>(
            value: &T,
            writer: W,
        ) -> Result<(), Error> {
            to_output(value, &mut crate::ser::IoOutput(writer))
        }

        #[doc = concat!("`value` as ", $format, " in a new `Vec`.")]
        ///
        /// # Errors
        /// As [`to_output`].
        #[cfg(feature = "alloc")]
        pub fn to_vec<T: ?Sized + serde::Serialize>(value: &T) -> Result<alloc::vec::Vec<u8>, Error> {
            let mut out = alloc::vec::Vec::new();
            to_output(value, &mut out)?;
            Ok(out)
        }
    };
}

#[cfg(feature = "marshal")]
pub mod blob;
pub mod call;
/// The four sequence-like serde compounds (seq, tuple, tuple struct, tuple variant) of a
/// format's `Compound`, which writes each item with `$item` and closes with `$end`.
#[cfg(any(feature = "serpent", feature = "json", feature = "marshal", feature = "msgpack"))]
macro_rules! sequence_compounds {
    ($item:ident, $end:ident) => {
        impl<O: Output> serde::ser::SerializeSeq for Compound<'_, O> {
            type Ok = ();
            type Error = Error;
            fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                self.$item(value)
            }
            fn end(self) -> Result<(), Error> {
                self.$end()
            }
        }

        impl<O: Output> serde::ser::SerializeTuple for Compound<'_, O> {
            type Ok = ();
            type Error = Error;
            fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                self.$item(value)
            }
            fn end(self) -> Result<(), Error> {
                self.$end()
            }
        }

        impl<O: Output> serde::ser::SerializeTupleStruct for Compound<'_, O> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                self.$item(value)
            }
            fn end(self) -> Result<(), Error> {
                self.$end()
            }
        }

        impl<O: Output> serde::ser::SerializeTupleVariant for Compound<'_, O> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                self.$item(value)
            }
            fn end(self) -> Result<(), Error> {
                self.$end()
            }
        }
    };
}

pub mod envelope;
pub mod float;
#[cfg(feature = "json")]
pub mod json;
#[cfg(feature = "marshal")]
pub mod marshal;
pub(crate) mod marshal_str;
pub mod message;
#[cfg(feature = "msgpack")]
pub mod msgpack;
pub mod output;
pub mod python;
pub mod refused;
#[cfg(feature = "serpent")]
pub mod serpent;
#[cfg(feature = "alloc")]
pub mod value;

pub use message::Message;
pub use output::{IoOutput, Output, OutputError, SliceOutput};

/// How deeply containers may nest in a payload before a deserializer refuses it, unless
/// told otherwise (each format's `Deserializer::with_max_depth`; a connection passes its
/// [`Limits::max_nesting`](crate::limits::Limits::max_nesting)).
pub const DEFAULT_MAX_DEPTH: usize = crate::limits::DEFAULT_MAX_NESTING;

mod any_format;
pub(crate) use any_format::unsupported;
pub use any_format::{FormatError, item_to_output, to_output};

//! A serializer adapter that appends `"__class__": name` to a struct or map.

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer};

use super::CLASS_KEY;

/// Accepts only a struct or a map, and closes it with the class entry.
pub(super) struct AppendClass<'c, S> {
    pub(super) inner: S,
    pub(super) class: &'c str,
}

/// The struct or map being written; the class entry goes last, as Python writes it.
pub(super) struct WithClass<'c, Q> {
    inner: Q,
    class: &'c str,
}

impl<Q: SerializeStruct> SerializeStruct for WithClass<'_, Q> {
    type Ok = Q::Ok;
    type Error = Q::Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Q::Error> {
        self.inner.serialize_field(key, value)
    }
    fn end(mut self) -> Result<Q::Ok, Q::Error> {
        self.inner.serialize_field(CLASS_KEY, self.class)?;
        self.inner.end()
    }
}

impl<Q: SerializeMap> SerializeMap for WithClass<'_, Q> {
    type Ok = Q::Ok;
    type Error = Q::Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Q::Error> {
        self.inner.serialize_key(key)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Q::Error> {
        self.inner.serialize_value(value)
    }
    fn end(mut self) -> Result<Q::Ok, Q::Error> {
        self.inner.serialize_entry(CLASS_KEY, self.class)?;
        self.inner.end()
    }
}

fn not_a_dict<E: ser::Error>() -> E {
    E::custom("a class dict needs a value that serializes as a struct or a map")
}

macro_rules! refuse {
    ($($name:ident($($ty:ty),*);)*) => {$(
        fn $name(self, $(_: $ty),*) -> Result<S::Ok, S::Error> {
            Err(not_a_dict())
        }
    )*};
}

impl<'c, S: Serializer> Serializer for AppendClass<'c, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = WithClass<'c, S::SerializeMap>;
    type SerializeStruct = WithClass<'c, S::SerializeStruct>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    refuse! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }
    fn collect_str<T: ?Sized + core::fmt::Display>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(not_a_dict())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(not_a_dict())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(not_a_dict())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(not_a_dict())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(not_a_dict())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(not_a_dict())
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        let inner = self.inner.serialize_map(len.map(|n| n.saturating_add(1)))?;
        Ok(WithClass { inner, class: self.class })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct, S::Error> {
        let inner = self.inner.serialize_struct(name, len.saturating_add(1))?;
        Ok(WithClass { inner, class: self.class })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        Err(not_a_dict())
    }
}

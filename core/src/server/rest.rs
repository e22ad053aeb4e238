//! Python's `*args` and `**kwargs` as parameters of an `#[expose]` method: [`VarArgs`]
//! takes the positional arguments past the named parameters, [`KwArgs`] the keyword
//! arguments that name none. Both own what they read, so they need `alloc`.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::ser::{SerializeMap, SerializeTuple};
use serde::{Deserialize, Serialize};

use super::object::{Args, ArgumentError};

/// The positional arguments past a method's named parameters, each read as `T` (Python's
/// `*args`; `VarArgs<Value>` takes anything). Written back as a tuple, as Python's `args`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VarArgs<T>(pub Vec<T>);

/// The keyword arguments that name none of a method's parameters, in the order sent, each
/// value read as `T` (Python's `**kwargs`). Written back as a dict, as Python's `kwargs`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KwArgs<T>(pub Vec<(String, T)>);

impl<T> core::ops::Deref for VarArgs<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> core::ops::Deref for KwArgs<T> {
    type Target = Vec<(String, T)>;
    fn deref(&self) -> &Vec<(String, T)> {
        &self.0
    }
}

impl<T> KwArgs<T> {
    /// The value of keyword argument `name`, if it was given.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl<T: Serialize> Serialize for VarArgs<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut tuple = s.serialize_tuple(self.0.len())?;
        for item in &self.0 {
            tuple.serialize_element(item)?;
        }
        tuple.end()
    }
}

impl<T: Serialize> Serialize for KwArgs<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'a> Args<'a> {
    /// The positional arguments from number `from` on (after `from` named parameters), for
    /// the parameter `name` that takes them.
    ///
    /// # Errors
    /// [`ArgumentError::Decode`] for one that does not fit `T`.
    pub fn var_args<T: Deserialize<'a>>(&self, from: usize, name: &'a str) -> Result<VarArgs<T>, ArgumentError<'a>> {
        let mut items = Vec::new();
        self.rest_args(from, &mut |item| {
            items.push(item);
            Ok(())
        })
        .map_err(|error| ArgumentError::Decode { name, error })?;
        Ok(VarArgs(items))
    }

    /// The keyword arguments not named in `params`, for the parameter `name` that takes
    /// them.
    ///
    /// # Errors
    /// [`ArgumentError::Decode`] for a value that does not fit `T`.
    pub fn var_kwargs<T: Deserialize<'a>>(
        &self,
        params: &[&str],
        name: &'a str,
    ) -> Result<KwArgs<T>, ArgumentError<'a>> {
        let mut items = Vec::new();
        self.other_kwargs(params, &mut |key, value| {
            items.push((key.to_string(), value));
            Ok(())
        })
        .map_err(|error| ArgumentError::Decode { name, error })?;
        Ok(KwArgs(items))
    }
}

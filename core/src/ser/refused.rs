//! The `__class__` dicts a Python Pyro5 peer refuses to turn into objects, and the search
//! for one inside a received argument.
//!
//! Pyro5 carries an object of a class it does not know as a dict
//! `{"__class__": "module.Class", ...attributes}`. On receiving, Python's Pyro5 turns every
//! such dict back into an object (its `dict_to_class`) and refuses those it cannot: a name
//! with a double underscore (`__main__.Chatter`) raises `Pyro5.errors.SecurityError`, any
//! other class it does not know (`mymod.Thing`) `Pyro5.errors.SerializeError`. Python's
//! daemon refuses such a call before any method runs, whatever the method's parameters.
//!
//! Here a typed argument is read by serde as its parameter's type asks. When that fails,
//! [`CallView::arg`](super::call::CallView::arg) looks through the call's arguments (the
//! positional ones, then the keyword ones, as Python reads them) for a class dict Pyro
//! refuses and, if there is one, answers with Python's exception instead of serde's error
//! ([`CallError::RefusedClass`](super::call::CallError::RefusedClass)): the look costs
//! nothing for calls that read fine. A parameter typed to accept any dict (a `Value`, a map)
//! receives such a dict as data, and a struct that ignores unknown fields reads around one
//! nested in a field it does not have; code taking values it does not know the type of
//! checks them with `Value::refused_class` (feature `alloc`).
//!
//! The look walks each argument's encoded items with the format's `skip_value`, decoding only
//! dict keys and class names. Without feature `alloc` it allocates nothing (a key or class
//! name with escapes cannot be borrowed then, and is passed over); with it, the name found is
//! kept whole in a `String`. It
//! goes at most [`SCAN_DEPTH`] containers deep (a little stack each, on an error path), and
//! passes over an argument nested deeper (as an object's attributes rarely are), leaving
//! serde's error when no other argument holds a refused class.
//!
//! Which class is reported when there are several is Python's: the outermost first in
//! serpent, marshal and json, whose Pyro5 turns dicts into objects from the top down (and
//! not inside a class it knows), the innermost first in msgpack, whose Pyro5 does it while
//! reading, from the bottom up.

use core::fmt;

/// How many containers deep the search for a refused class goes (an argument's own list
/// or dict is the first). Each costs a little stack on the error path (about 350 bytes on
/// x86_64, optimized), so the search needs at most about 3 KB more than the failed read.
pub const SCAN_DEPTH: usize = 8;

/// The most bytes of a class name a [`RefusedClass`] keeps without feature `alloc` (a longer
/// name is cut at a character boundary, `…` marking the cut; the verdict is on the whole
/// name); with `alloc` it keeps all. Qualified Python class names are rarely half as long;
/// Python's message is written from the name when the exception is sent, so a
/// [`CallError`](super::call::CallError) stays as small as its other variants make it.
pub const CLASS_NAME_CAPACITY: usize = 92;

#[cfg(feature = "alloc")]
type ClassName = alloc::string::String;
#[cfg(not(feature = "alloc"))]
type ClassName = heapless::String<CLASS_NAME_CAPACITY, u8>;

/// The class name, whole with `alloc`, else cut to [`CLASS_NAME_CAPACITY`] bytes.
fn class_name(name: &str) -> ClassName {
    #[cfg(feature = "alloc")]
    {
        name.into()
    }
    #[cfg(not(feature = "alloc"))]
    {
        let mut out = ClassName::new();
        if out.push_str(name).is_err() {
            for c in name.chars() {
                if out.len() + c.len_utf8() > CLASS_NAME_CAPACITY - '…'.len_utf8() {
                    break;
                }
                let _ = out.push(c);
            }
            let _ = out.push('…');
        }
        out
    }
}

/// Which of Python's two refusals.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Refusal {
    /// `SecurityError`: the name has a double underscore.
    Security,
    /// `SerializeError`: a class Pyro does not know.
    Unsupported,
}

/// Pyro5's `dict_to_class` verdict on a class name, for a dict whose `__exception__` is
/// `True` or not.
pub(crate) fn refuse_class(class: &str, exception: bool) -> Option<Refusal> {
    if class.contains("__") {
        return Some(Refusal::Security);
    }
    let known = matches!(
        class,
        "Pyro5.core.URI"
            | "Pyro5.client.Proxy"
            | "Pyro5.server.Daemon"
            | "Pyro5.util.SerpentSerializer"
            | "Pyro5.util.MarshalSerializer"
            | "Pyro5.util.JsonSerializer"
            | "Pyro5.util.MsgpackSerializer"
            | "struct.error"
            | EXCEPTION_WRAPPER
            | "float"
    ) || class.starts_with("Pyro5.errors.")
        || (exception
            && (class.starts_with("builtins.") || class.starts_with("exceptions.") || class.starts_with("sqlite3.")));
    (!known).then_some(Refusal::Unsupported)
}

/// The class whose dict Pyro5 looks into (its `exception` item) when making it an object.
const EXCEPTION_WRAPPER: &str = "Pyro5.core._ExceptionWrapper";

/// Whether Pyro5, making an object of a class it knows, turns dicts inside it into objects
/// too (serpent, marshal and json; msgpack's reader has made them objects before).
pub(crate) fn looks_into(class: &str) -> bool {
    class == EXCEPTION_WRAPPER
}

/// A `__class__` dict Python's Pyro5 refuses to turn into an object: the exception Python
/// raises for it ([`pyro_class`](Self::pyro_class), and Python's text as `Display`).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RefusedClass {
    refusal: Refusal,
    name: ClassName,
}

impl Refusal {
    fn pyro_class(self) -> &'static str {
        match self {
            Self::Security => "Pyro5.errors.SecurityError",
            Self::Unsupported => "Pyro5.errors.SerializeError",
        }
    }
}

impl RefusedClass {
    pub(crate) fn new(refusal: Refusal, name: &str) -> Self {
        Self { refusal, name: class_name(name) }
    }

    /// Python's verdict on the class `name` of a dict (whose `__exception__` is `True` or
    /// not): `None` for the classes Pyro5 knows (URIs, proxies, Pyro's exceptions...).
    pub fn check(name: &str, exception: bool) -> Option<Self> {
        refuse_class(name, exception).map(|refusal| Self { refusal, name: class_name(name) })
    }

    /// The exception class Python raises: `"Pyro5.errors.SecurityError"` for a name with a
    /// double underscore, else `"Pyro5.errors.SerializeError"`.
    pub fn pyro_class(&self) -> &'static str {
        self.refusal.pyro_class()
    }

    /// The refused class name (cut without `alloc` when longer than
    /// [`CLASS_NAME_CAPACITY`]).
    pub fn class_name(&self) -> &str {
        &self.name
    }
}

/// Python's message.
impl fmt::Display for RefusedClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.refusal {
            Refusal::Security => {
                write!(f, "refused to deserialize types with double underscores in their name: {}", self.name)
            }
            Refusal::Unsupported => write!(f, "unsupported serialized class: {}", self.name),
        }
    }
}

#[cfg(all(test, any(feature = "serpent", feature = "json", feature = "marshal", feature = "msgpack")))]
mod tests {
    extern crate std;

    use std::string::ToString;
    use std::vec::Vec;

    use serde::de::IgnoredAny;
    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

    use super::*;
    use crate::ser::call::{CallError, CallView};
    use crate::ser::{SliceOutput, to_output};
    use crate::server::{Args, PythonException, Qualname};
    use crate::wire::SerializerId;

    const FORMATS: [SerializerId; 4] =
        [SerializerId::Serpent, SerializerId::Marshal, SerializerId::Json, SerializerId::Msgpack];

    const SECURITY: &str = "Pyro5.errors.SecurityError";
    const UNSUPPORTED: &str = "Pyro5.errors.SerializeError";
    const SECRET_TEXT: &str = "refused to deserialize types with double underscores in their name: __main__.Secret";

    /// A Python value to write in a call.
    #[derive(Clone, Copy)]
    enum V<'a> {
        Int(i64),
        Bool(bool),
        Str(&'a str),
        List(&'a [V<'a>]),
        Dict(&'a [(&'a str, V<'a>)]),
    }

    impl Serialize for V<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match *self {
                Self::Int(i) => s.serialize_i64(i),
                Self::Bool(b) => s.serialize_bool(b),
                Self::Str(text) => s.serialize_str(text),
                Self::List(items) => {
                    let mut seq = s.serialize_seq(Some(items.len()))?;
                    items.iter().try_for_each(|item| seq.serialize_element(item))?;
                    seq.end()
                }
                Self::Dict(entries) => {
                    let mut map = s.serialize_map(Some(entries.len()))?;
                    entries.iter().try_for_each(|(k, v)| map.serialize_entry(k, v))?;
                    map.end()
                }
            }
        }
    }

    const SECRET: V<'static> = V::Dict(&[("__class__", V::Str("__main__.Secret")), ("word", V::Str("sesame"))]);
    const THING: V<'static> = V::Dict(&[("__class__", V::Str("mymod.Thing")), ("size", V::Int(3))]);

    /// Pyro's call `("o", "m", args, kwargs)` written in `format`.
    fn call(format: SerializerId, args: &[V<'_>], kwargs: &[(&str, V<'_>)]) -> Vec<u8> {
        let mut buf = std::vec![0u8; 4096];
        let mut out = SliceOutput::new(&mut buf);
        to_output(format, &(V::Str("o"), V::Str("m"), V::List(args), V::Dict(kwargs)), &mut out).unwrap();
        let len = out.len();
        buf.truncate(len);
        buf
    }

    fn enabled() -> impl Iterator<Item = SerializerId> {
        FORMATS.into_iter().filter(|f| f.is_enabled())
    }

    /// Argument 0 (or keyword `x`) of `payload` read as an `i64`: the error's class and text.
    fn refusal(format: SerializerId, payload: &[u8]) -> (&'static str, std::string::String) {
        let call = CallView::parse(format, payload).unwrap();
        let err = call.arg::<i64>(0, "x").unwrap_err();
        (err.pyro_class(), err.to_string())
    }

    #[test]
    fn a_typed_argument_holding_a_refused_class_is_pythons_exception_in_every_format() {
        for format in enabled() {
            let secret = (SECURITY, SECRET_TEXT.to_string());
            let thing = (UNSUPPORTED, "unsupported serialized class: mymod.Thing".to_string());
            assert_eq!(refusal(format, &call(format, &[SECRET], &[])), secret, "{format:?}");
            assert_eq!(refusal(format, &call(format, &[THING], &[])), thing, "{format:?}");
            assert_eq!(refusal(format, &call(format, &[], &[("x", SECRET)])), secret, "{format:?}: by keyword");
            // Nested in a list and a dict, as Python refuses the whole message.
            let nested = V::List(&[V::Int(1), V::Dict(&[("a", V::List(&[THING])), ("b", V::Int(2))])]);
            assert_eq!(refusal(format, &call(format, &[nested], &[])), thing, "{format:?}: nested");
            let err = CallView::parse(format, &call(format, &[nested], &[])).unwrap().arg::<i64>(0, "x").unwrap_err();
            assert!(matches!(&err, CallError::RefusedClass(r) if r.class_name() == "mymod.Thing"), "{format:?}");
            // Python's whole text: longer than a format's error message keeps.
            assert!(SECRET_TEXT.len() > crate::ser::message::MESSAGE_CAPACITY);
        }
    }

    #[test]
    fn the_class_reported_is_the_one_python_refuses_first() {
        let outer = V::Dict(&[("__class__", V::Str("__main__.Outer")), ("inner", THING)]);
        // A class Pyro knows is made from its dict as it is, except by msgpack's reader,
        // which has made the inner dicts objects before.
        let known = V::Dict(&[
            ("__class__", V::Str("Pyro5.errors.PyroError")),
            ("__exception__", V::Bool(true)),
            ("args", V::List(&[THING])),
        ]);
        let wrapper = V::Dict(&[("__class__", V::Str("Pyro5.core._ExceptionWrapper")), ("exception", SECRET)]);
        for format in enabled() {
            let first = refusal(format, &call(format, &[outer], &[]));
            let in_known = CallView::parse(format, &call(format, &[known], &[])).unwrap().arg::<i64>(0, "x");
            let in_wrapper = refusal(format, &call(format, &[wrapper], &[]));
            assert_eq!(in_wrapper.1, SECRET_TEXT, "{format:?}");
            if format == SerializerId::Msgpack {
                assert_eq!(first.1, "unsupported serialized class: mymod.Thing");
                assert_eq!(in_known.unwrap_err().to_string(), "unsupported serialized class: mymod.Thing");
            } else {
                assert_eq!(
                    first.1,
                    "refused to deserialize types with double underscores in their name: __main__.Outer"
                );
                assert!(!matches!(in_known, Err(CallError::RefusedClass(_))), "{format:?}: {in_known:?}");
            }
            // A list reports its first refused item.
            let both = V::List(&[THING, SECRET]);
            assert_eq!(refusal(format, &call(format, &[both], &[])).0, UNSUPPORTED, "{format:?}");
        }
    }

    #[test]
    fn builtin_exceptions_pass_only_as_exceptions() {
        for format in enabled() {
            let exception = V::Dict(&[("__class__", V::Str("builtins.ValueError")), ("__exception__", V::Bool(true))]);
            let err =
                CallView::parse(format, &call(format, &[exception], &[])).unwrap().arg::<i64>(0, "x").unwrap_err();
            assert!(!matches!(err, CallError::RefusedClass(_)), "{format:?}: {err:?}");
            let plain = V::Dict(&[("__exception__", V::Bool(false)), ("__class__", V::Str("builtins.ValueError"))]);
            let text = "unsupported serialized class: builtins.ValueError";
            assert_eq!(refusal(format, &call(format, &[plain], &[])), (UNSUPPORTED, text.to_string()), "{format:?}");
        }
    }

    #[test]
    fn good_calls_and_other_faults_are_unaffected() {
        for format in enabled() {
            let payload = call(format, &[V::Int(7), SECRET, THING], &[("y", V::List(&[SECRET]))]);
            let view = CallView::parse(format, &payload).unwrap();
            assert_eq!(view.arg::<i64>(0, "x").unwrap(), Some(7), "{format:?}");
            // A parameter that accepts any value takes the dict as data.
            assert!(view.arg::<IgnoredAny>(1, "x").unwrap().is_some(), "{format:?}");
            #[cfg(feature = "alloc")]
            {
                let value = view.arg::<crate::ser::value::Value>(1, "x").unwrap().unwrap();
                assert_eq!(value.class_name(), Some("__main__.Secret"));
            }
            // A value of the wrong type without a class in it keeps the format's error.
            let plain = call(format, &[V::Str("text"), V::Dict(&[("__klass__", V::Str("__main__.X"))])], &[]);
            let view = CallView::parse(format, &plain).unwrap();
            for index in [0, 1] {
                let err = view.arg::<i64>(index, "x").unwrap_err();
                assert!(!matches!(err, CallError::RefusedClass(_)), "{format:?}: {err:?}");
            }
            // Known classes are no refusal.
            let uri = V::Dict(&[("__class__", V::Str("Pyro5.core.URI")), ("state", V::List(&[]))]);
            let err = CallView::parse(format, &call(format, &[uri], &[])).unwrap().arg::<i64>(0, "x").unwrap_err();
            assert!(!matches!(err, CallError::RefusedClass(_)), "{format:?}: {err:?}");
        }
    }

    #[test]
    fn the_look_goes_scan_depth_containers_deep() {
        // The class dict itself is one container: at SCAN_DEPTH levels it is found.
        let mut levels = std::vec![SECRET];
        for _ in 0..SCAN_DEPTH {
            let inner: &'static [V<'static>] = std::vec![*levels.last().unwrap()].leak();
            levels.push(V::List(inner));
        }
        for format in enabled() {
            let found = levels[SCAN_DEPTH - 1];
            assert_eq!(refusal(format, &call(format, &[found], &[])).0, SECURITY, "{format:?}");
            let too_deep = levels[SCAN_DEPTH];
            let err = CallView::parse(format, &call(format, &[too_deep], &[])).unwrap().arg::<i64>(0, "x").unwrap_err();
            assert!(!matches!(err, CallError::RefusedClass(_)), "{format:?}: {err:?}");
        }
    }

    #[test]
    fn long_class_names_are_judged_whole() {
        let long = std::format!("{}.__Hidden", "m".repeat(300));
        let name = V::Dict(&[("__class__", V::Str(&long))]);
        for format in enabled() {
            let err = CallView::parse(format, &call(format, &[name], &[])).unwrap().arg::<i64>(0, "x").unwrap_err();
            let CallError::RefusedClass(refused) = err else { panic!("{format:?}: {err:?}") };
            assert_eq!(refused.pyro_class(), SECURITY);
            #[cfg(feature = "alloc")]
            assert_eq!(refused.class_name(), long);
            #[cfg(not(feature = "alloc"))]
            {
                assert!(refused.class_name().len() <= CLASS_NAME_CAPACITY && refused.class_name().ends_with('…'));
                assert!(long.starts_with(refused.class_name().trim_end_matches('…')));
            }
        }
    }

    #[test]
    fn a_method_parameter_raises_pythons_exception_without_naming_the_parameter() {
        for format in enabled() {
            let payload = call(format, &[V::List(&[SECRET])], &[]);
            let view = CallView::parse(format, &payload).unwrap();
            let args = Args::Call(&view);
            let function = Qualname { class_name: "Chat", method: "join" };
            let err = args.required::<(i64,)>(function, 0, "callback").unwrap_err();
            assert_eq!((err.class(), err.to_string()), (SECURITY, SECRET_TEXT.to_string()), "{format:?}");
            let err = args.required::<i64>(function, 1, "other").unwrap_err();
            assert_eq!(err.class(), "builtins.TypeError", "{format:?}: a missing argument stays Python's TypeError");
        }
    }

    #[test]
    fn strings_with_escapes_are_not_read_but_in_class_names() {
        // Values are skipped, not decoded: escapes in them need no buffer.
        let long = "a\\nb".repeat(1000);
        #[cfg(feature = "json")]
        {
            let text = std::format!(r#"["o", "m", [{{"word": "{long}", "__class__": "__main__.Secret"}}], {{}}]"#);
            let err = CallView::parse(SerializerId::Json, text.as_bytes()).unwrap().arg::<i64>(0, "x").unwrap_err();
            assert_eq!(err.to_string(), SECRET_TEXT);
            // A class name with an escape needs alloc to be read.
            let text = r#"["o", "m", [{"__class__": "__main__.Secr\u0065t"}], {}]"#;
            let err = CallView::parse(SerializerId::Json, text.as_bytes()).unwrap().arg::<i64>(0, "x").unwrap_err();
            assert_eq!(err.to_string() == SECRET_TEXT, cfg!(feature = "alloc"), "{err:?}");
        }
        #[cfg(feature = "serpent")]
        {
            let text = std::format!("('o', 'm', ({{'word': '{long}', '__class__': '__main__.Secret'}},), {{}})");
            let err = CallView::parse(SerializerId::Serpent, text.as_bytes()).unwrap().arg::<i64>(0, "x").unwrap_err();
            assert_eq!(err.to_string(), SECRET_TEXT);
        }
        let _ = long;
    }

    #[test]
    fn the_refused_class_may_be_in_another_argument() {
        for format in enabled() {
            // Python refuses the call whichever argument holds the class.
            let payload = call(format, &[THING, V::Str("text")], &[("y", SECRET)]);
            let view = CallView::parse(format, &payload).unwrap();
            let thing = (UNSUPPORTED, "unsupported serialized class: mymod.Thing".to_string());
            assert_eq!(view.arg::<i64>(1, "n").unwrap_err().pyro_class(), thing.0, "{format:?}");
            let payload = call(format, &[V::Str("text")], &[("z", V::Int(1)), ("y", SECRET)]);
            assert_eq!(refusal(format, &payload), (SECURITY, SECRET_TEXT.to_string()), "{format:?}: a keyword's");
            // An argument too deep to look into is passed over for the next.
            let mut deep = THING;
            for _ in 0..SCAN_DEPTH {
                deep = V::List(std::vec![deep].leak());
            }
            let payload = call(format, &[deep, V::Str("text"), SECRET], &[]);
            let err = CallView::parse(format, &payload).unwrap().arg::<i64>(1, "n").unwrap_err();
            assert_eq!((err.pyro_class(), err.to_string()), (SECURITY, SECRET_TEXT.to_string()), "{format:?}");
        }
    }

    #[cfg(not(feature = "alloc"))]
    #[test]
    fn the_look_allocates_nothing_without_alloc() {
        let nested = V::List(&[V::Int(1), V::Dict(&[("a", V::List(&[THING])), ("b", V::Str("x"))])]);
        let payloads: Vec<_> = enabled().map(|format| (format, call(format, &[nested], &[("y", SECRET)]))).collect();
        let count = allocation_counter::measure(|| {
            for (format, payload) in &payloads {
                let view = CallView::parse(*format, payload).unwrap();
                let err = view.arg::<i64>(0, "x").unwrap_err();
                assert!(matches!(err, CallError::RefusedClass(_)), "{format:?}");
            }
        })
        .count_total;
        assert_eq!(count, 0);
    }

    #[test]
    fn a_refused_class_makes_call_errors_no_bigger() {
        // Its other variants hold a format's error, with a 64-byte message.
        assert!(size_of::<RefusedClass>() <= size_of::<crate::ser::Message>() + 32);
        assert!(size_of::<CallError>() <= 96, "{}", size_of::<CallError>());
    }

    #[test]
    fn the_check_of_a_name_is_pyro5s() {
        assert_eq!(RefusedClass::check("__main__.X", false).unwrap().pyro_class(), SECURITY);
        assert_eq!(RefusedClass::check("Pyro5.errors.__x", true).unwrap().pyro_class(), SECURITY);
        assert_eq!(
            RefusedClass::check("mymod.Thing", true).unwrap().to_string(),
            "unsupported serialized class: mymod.Thing"
        );
        for known in ["Pyro5.core.URI", "Pyro5.client.Proxy", "Pyro5.errors.CommunicationError", "float"] {
            assert_eq!(RefusedClass::check(known, false), None, "{known}");
        }
        assert_eq!(RefusedClass::check("sqlite3.OperationalError", true), None);
        assert!(RefusedClass::check("sqlite3.OperationalError", false).is_some());
    }

    fn exercise(format: SerializerId, bytes: &[u8]) {
        if let Ok(view) = CallView::parse(format, bytes) {
            for i in 0..view.arg_count().min(4) + 1 {
                if let Err(e) = view.arg::<i64>(i, "x") {
                    let _ = (e.pyro_class(), e.to_string());
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn mutated_calls_with_classes_never_panic(which in 0usize..4, at in 0usize..512, byte in proptest::num::u8::ANY, cut in 0usize..512) {
            let format = FORMATS[which];
            if format.is_enabled() {
                let nested = V::List(&[V::Int(1), V::Dict(&[("a", V::List(&[THING])), ("__exception__", V::Bool(true))])]);
                let mut bytes = call(format, &[SECRET, nested], &[("x", THING)]);
                let len = bytes.len();
                bytes[at % len] = byte;
                bytes.truncate(len - cut % len / 4);
                exercise(format, &bytes);
            }
        }
    }
}

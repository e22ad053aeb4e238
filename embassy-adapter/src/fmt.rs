//! Logging that forwards to `defmt` or `log` (features, exclusive), or compiles to nothing,
//! in the manner of embassy's crates. Arguments must be `Display` for `log` and `Format`
//! for `defmt`: integers, strings and the core's error types are.
#![allow(unused_macros)]

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("features `defmt` and `log` are mutually exclusive: enable at most one");

/// `event!(level, "format", args...)` with `level` one of `debug`, `info`, `warn`.
macro_rules! event {
    ($level:ident, $s:literal $(, $x:expr)* $(,)?) => {{
        #[cfg(feature = "log")]
        ::log::$level!($s $(, $x)*);
        #[cfg(feature = "defmt")]
        ::defmt::$level!($s $(, $x)*);
        #[cfg(not(any(feature = "log", feature = "defmt")))]
        let _ = ($( & $x ),*);
    }};
}

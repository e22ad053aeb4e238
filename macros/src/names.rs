//! Pyro's rule for names it never exposes, applied while the macro expands: the core's own
//! `is_private_name` (the macro links `pyro5-core` for it).

pub(crate) use pyro5_core::server::is_private_name;

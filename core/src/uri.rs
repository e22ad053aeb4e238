//! Pyro URIs (placeholder while the parser lands).

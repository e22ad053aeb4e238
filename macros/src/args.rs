//! The arguments of `#[expose(...)]`: the Python class name and the path of the core crate.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{LitStr, Path};

/// `#[expose]`, `#[expose(class = "Name")]`, `#[expose(crate = "pyro5_std::core")]`.
pub(crate) struct ExposeArgs {
    /// The class name given, if any.
    pub class: Option<LitStr>,
    /// Where `pyro5_core` is: the default the attribute was called with unless given.
    pub krate: Path,
}

impl ExposeArgs {
    /// Read the attribute's arguments; without `crate = ...` the core is at `default_krate`.
    pub fn parse(tokens: TokenStream, default_krate: Path) -> syn::Result<Self> {
        let mut class = None;
        let mut krate = None;
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("class") {
                if class.is_some() {
                    return Err(meta.error("`class` given twice"));
                }
                let name: LitStr = meta.value()?.parse()?;
                if name.value().is_empty() {
                    return Err(syn::Error::new(name.span(), "the class name must not be empty"));
                }
                class = Some(name);
                Ok(())
            } else if meta.path.is_ident("crate") {
                if krate.is_some() {
                    return Err(meta.error("`crate` given twice"));
                }
                let path: LitStr = meta.value()?.parse()?;
                krate = Some(path.parse::<Path>()?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown #[expose] argument; expected `class = \"Name\"` or `crate = \"path::to::pyro5_core\"`",
                ))
            }
        });
        parser.parse2(tokens)?;
        Ok(Self { class, krate: krate.unwrap_or(default_krate) })
    }
}

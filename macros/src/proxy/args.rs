//! The arguments of `#[proxy(...)]`: the struct's name and the path of `pyro5_std`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{Ident, LitStr, Path};

/// `#[proxy]`, `#[proxy(name = "EchoClient")]`, `#[proxy(crate = "my::pyro5_std")]`
/// (`my::pyro5_tokio` for async methods).
pub(crate) struct ProxyArgs {
    /// The generated struct: `<Trait>Proxy` unless given.
    pub name: Ident,
    /// Where the proxy's crate is, if given: `pyro5_std` for blocking methods,
    /// `pyro5_tokio` for async ones.
    pub krate: Option<Path>,
}

impl ProxyArgs {
    /// Read the attribute's arguments for the trait named `trait_name`.
    pub fn parse(tokens: TokenStream, trait_name: &Ident) -> syn::Result<Self> {
        let mut name = None;
        let mut krate = None;
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("name") {
                if name.is_some() {
                    return Err(meta.error("`name` given twice"));
                }
                let given: LitStr = meta.value()?.parse()?;
                name = Some(given.parse::<Ident>().map_err(|_| {
                    syn::Error::new(given.span(), "the name of the proxy struct must be an identifier")
                })?);
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
                    "unknown #[proxy] argument; expected `name = \"StructName\"` or `crate = \"path::to::pyro5_std\"` \
                     (`pyro5_tokio` for async methods)",
                ))
            }
        });
        parser.parse2(tokens)?;
        let name = name.unwrap_or_else(|| {
            let unraw = syn::ext::IdentExt::unraw(trait_name);
            Ident::new(&format!("{unraw}Proxy"), trait_name.span())
        });
        Ok(Self { name, krate })
    }
}

//! `#[proxy]`: a typed client for a Pyro object, generated from a trait whose methods are the
//! object's. The trait is emitted unchanged (markers removed), with a struct wrapping a
//! `pyro5_std::Proxy` (a `pyro5_tokio::Proxy` when the methods are `async`) that implements
//! it, one remote call per method.
//!
//! - `args.rs`: the attribute's own arguments (`crate`, `name`).
//! - `method.rs`: what one trait method becomes (call, iterator, getter, setter, or a local
//!   method with a body), checked against the shapes the proxy can call.
//! - `emit.rs`: the struct, its constructors and the trait impl.

mod args;
mod emit;
mod method;

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{ItemTrait, TraitItem};

use crate::attrs::combine;

/// Expand `#[proxy(attr)] item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: ItemTrait = match syn::parse2(item) {
        Ok(item) => item,
        Err(e) => {
            let e = syn::Error::new(e.span(), "#[proxy] goes on a trait (`trait Echo { fn echo(&self, ...) ... }`)");
            return e.to_compile_error();
        }
    };
    let mut errors: Option<syn::Error> = None;
    let args = args::ProxyArgs::parse(attr, &item.ident).map_err(|e| combine(&mut errors, e)).ok();
    if let Some(unsafety) = &item.unsafety {
        combine(&mut errors, syn::Error::new(unsafety.span(), "#[proxy] can't implement an unsafe trait"));
    }
    if item.generics.lt_token.is_some() {
        let e = syn::Error::new(
            item.generics.span(),
            "#[proxy] can't generate a proxy for a generic trait; give the trait concrete types \
             (methods may be generic)",
        );
        combine(&mut errors, e);
    }
    let mut remote = Vec::new();
    for trait_item in &mut item.items {
        let found = match trait_item {
            TraitItem::Fn(f) => method::analyze(f),
            TraitItem::Const(c) => Err(refuse(c.span(), "associated constants")),
            TraitItem::Type(t) => Err(refuse(t.span(), "associated types")),
            other => Err(refuse(other.span(), "this kind of item")),
        };
        match found {
            Ok(Some(m)) => remote.push(m),
            Ok(None) => {}
            Err(e) => combine(&mut errors, e),
        }
    }
    // One kind of proxy: blocking (pyro5-std) or async (pyro5-tokio).
    let is_async = remote.first().is_some_and(|m| m.is_async);
    if let Some(odd) = remote.iter().find(|m| m.is_async != is_async) {
        let e = syn::Error::new(
            odd.sig.ident.span(),
            "a #[proxy] trait's remote methods are all blocking (a pyro5_std::Proxy) or all `async` \
             (a pyro5_tokio::Proxy); split the trait",
        );
        combine(&mut errors, e);
    }
    match (errors, args) {
        (None, Some(args)) => {
            let proxy = emit::emit(&item, &args, &remote, is_async);
            quote! {
                #item
                #proxy
            }
        }
        // The trait without markers, so that only the real errors show.
        (errors, _) => {
            let errors = errors.map(|e| e.to_compile_error());
            quote! {
                #item
                #errors
            }
        }
    }
}

fn refuse(span: proc_macro2::Span, what: &str) -> syn::Error {
    syn::Error::new(span, format!("#[proxy] traits hold methods only, not {what}: the proxy must implement every item"))
}

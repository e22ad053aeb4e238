//! The code `#[proxy]` writes: a struct around `pyro5_std::Proxy`, its constructors, and
//! the trait implemented with one `Proxy` call per method.
//!
//! Each method body is a single call of `Proxy`'s public API, its error turned into the
//! method's `Err` type with `From`. The `Ok` type is named in the call and the conversion
//! is spanned at the `Err` type, so a result type that can't be deserialized or an error
//! type without `From<ProxyError>` is reported at that type in the trait.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ItemTrait;
use syn::spanned::Spanned;

use super::args::ProxyArgs;
use super::method::{Kind, Remote, is_unit};

/// The struct and its impls for `item`.
pub(super) fn emit(item: &ItemTrait, args: &ProxyArgs, remote: &[Remote], is_async: bool) -> TokenStream {
    let ProxyArgs { name, krate } = args;
    let krate: syn::Path = match krate {
        Some(krate) => krate.clone(),
        None if is_async => syn::parse_quote!(::pyro5_tokio),
        None => syn::parse_quote!(::pyro5_std),
    };
    let krate = &krate;
    let (vis, trait_name) = (&item.vis, &item.ident);
    let doc = format!(
        "A typed proxy for [`{trait_name}`]: each of its methods calls the remote object through a \
         `Proxy` (written by `#[pyro5_macros::proxy]`)."
    );
    let methods = remote.iter().map(|m| method(m, krate));
    quote! {
        #[doc = #doc]
        #[derive(Debug)]
        #[allow(dead_code)]
        #vis struct #name(#krate::Proxy);

        #[allow(dead_code)]
        impl #name {
            /// A proxy for the object at `uri` (`PYRO:id@host:port`); it connects on the first call.
            ///
            /// # Errors
            /// A URI the proxy can't connect to (`ProxyError::Uri`).
            #vis fn new(uri: &str) -> ::core::result::Result<Self, #krate::ProxyError> {
                ::core::result::Result::map(#krate::Proxy::new(uri), Self)
            }

            /// Call through `proxy` (set up with a serializer, timeout, ... beforehand).
            #vis fn from_proxy(proxy: #krate::Proxy) -> Self {
                Self(proxy)
            }

            /// The proxy the calls go through.
            #vis fn proxy(&self) -> &#krate::Proxy {
                &self.0
            }

            /// The proxy the calls go through, to configure it or call what the trait lacks.
            #vis fn proxy_mut(&mut self) -> &mut #krate::Proxy {
                &mut self.0
            }

            /// The proxy the calls went through.
            #vis fn into_inner(self) -> #krate::Proxy {
                self.0
            }
        }

        impl #trait_name for #name {
            #(#methods)*
        }
    }
}

/// One method: `Proxy::call`, `call_iter`, `get_attr` or `set_attr`.
fn method(m: &Remote, krate: &syn::Path) -> TokenStream {
    let Remote { sig, cfgs, name, kind, args, arg_span, ok, err, is_async } = m;
    let wait = is_async.then(|| quote!(.await));
    let proxy = quote_spanned!(ok.span()=> #krate::Proxy);
    // An argument that can't be serialized is reported at the parameter (or the method).
    let tuple = quote!((#(#args,)*));
    let args_ty = quote_spanned!(*arg_span=> _);
    let call = match kind {
        // `()`: whatever the method returns is dropped, as a Python caller ignoring it.
        Kind::Call if is_unit(ok) => quote_spanned!(ok.span()=>
            ::core::result::Result::map(
                #proxy::call::<#krate::core::ser::value::Value, #args_ty>(&self.0, #name, #tuple)#wait,
                ::core::mem::drop,
            )
        ),
        Kind::Call => quote_spanned!(ok.span()=> #proxy::call::<#ok, #args_ty>(&self.0, #name, #tuple)#wait),
        Kind::Iter => quote_spanned!(ok.span()=> #proxy::call_iter::<#args_ty>(&self.0, #name, #tuple)#wait),
        Kind::Getter => quote_spanned!(ok.span()=> #proxy::get_attr::<#ok>(&self.0, #name)#wait),
        Kind::Setter => quote!(#proxy::set_attr::<#args_ty>(&self.0, #name, #(#args)*)#wait),
    };
    let convert = quote_spanned!(err.span()=>
        ::core::result::Result::map_err(#call, <#err as ::core::convert::From<#krate::ProxyError>>::from)
    );
    quote! {
        #(#cfgs)*
        #sig {
            #convert
        }
    }
}

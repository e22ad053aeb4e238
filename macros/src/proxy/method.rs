//! One method of a `#[proxy]` trait: which remote name it calls and how (a method call, an
//! iterator, an attribute read or write), its arguments, and its `Ok` and `Err` types.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    Attribute, FnArg, GenericArgument, GenericParam, Ident, LitStr, Pat, PathArguments, ReturnType, Signature,
    TraitItemFn, Type,
};

use crate::attrs::combine;
use crate::names::is_private_name;

/// How a method reaches the remote object.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Kind {
    /// `Proxy::call`: positional arguments, the result decoded as the `Ok` type.
    Call,
    /// `Proxy::call_iter`: the `Ok` type is a `RemoteIter`.
    Iter,
    /// `Proxy::get_attr`.
    Getter,
    /// `Proxy::set_attr`.
    Setter,
}

/// A trait method the proxy implements with a remote call.
pub(crate) struct Remote {
    /// The signature to implement, each parameter pattern a plain name.
    pub sig: Signature,
    /// `#[cfg]` attributes of the method, repeated on its implementation.
    pub cfgs: Vec<Attribute>,
    /// The remote method's or attribute's name.
    pub name: LitStr,
    /// How it is called.
    pub kind: Kind,
    /// The parameters after the receiver, in order: the positional arguments.
    pub args: Vec<Ident>,
    /// Where to report arguments that can't be serialized: the parameter's type when
    /// there is one, else the method's name.
    pub arg_span: Span,
    /// The `Ok` type of the returned `Result`.
    pub ok: Type,
    /// The `Err` type of the returned `Result` (made from a `ProxyError` with `From`).
    pub err: Type,
    /// An `async fn`: called through `pyro5_tokio::Proxy`.
    pub is_async: bool,
}

/// The markers on one method (`#[pyro5(...)]`), removed from the trait.
#[derive(Default)]
struct Marks {
    name: Option<LitStr>,
    getter: Option<(Span, Option<LitStr>)>,
    setter: Option<(Span, Option<LitStr>)>,
    first: Option<Span>,
}

/// Read `f`'s markers (removing them) and what the proxy does for it: `None` for a method
/// with a default body, which runs locally.
pub(crate) fn analyze(f: &mut TraitItemFn) -> syn::Result<Option<Remote>> {
    let marks = take_marks(&mut f.attrs)?;
    for arg in &mut f.sig.inputs {
        let FnArg::Typed(t) = arg else { continue };
        if let Some(attr) = t.attrs.iter().find(|a| a.path().is_ident("pyro5")) {
            let e = syn::Error::new(
                attr.path().span(),
                "arguments are passed by position; #[pyro5(...)] goes on the method",
            );
            t.attrs.retain(|a| !a.path().is_ident("pyro5"));
            return Err(e);
        }
    }
    if f.default.is_some() {
        return match marks.first {
            Some(span) => Err(syn::Error::new(
                span,
                "a method with a body runs locally, not on the remote object; remove the body or the marker",
            )),
            None => Ok(None),
        };
    }
    let mut errors: Option<syn::Error> = None;
    let kind_name = kind_and_name(f, &marks).map_err(|e| combine(&mut errors, e)).ok();
    if let Err(e) = check_signature(&f.sig) {
        combine(&mut errors, e);
    }
    let types = result_types(&f.sig).map_err(|e| combine(&mut errors, e)).ok();
    let ((kind, name), (ok, err)) = match (kind_name, types, errors) {
        (Some(kind_name), Some(types), None) => (kind_name, types),
        (_, _, errors) => {
            return Err(errors.unwrap_or_else(|| syn::Error::new(f.sig.ident.span(), "unsupported method")));
        }
    };
    let iterates = last_ident(&ok).is_some_and(|i| i == "RemoteIter" || i == "RemoteStream");
    let kind = if kind == Kind::Call && iterates { Kind::Iter } else { kind };
    let mut sig = f.sig.clone();
    let mut args = Vec::new();
    let mut arg_span = f.sig.ident.span();
    for (i, arg) in sig.inputs.iter_mut().skip(1).enumerate() {
        let FnArg::Typed(t) = arg else { continue };
        let ident = match &*t.pat {
            Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => p.ident.clone(),
            _ => Ident::new(&format!("__pyro5_arg{i}"), t.pat.span()),
        };
        *t.pat = syn::parse_quote!(#ident);
        args.push(ident);
        arg_span = if i == 0 { t.ty.span() } else { f.sig.ident.span() };
    }
    check_params(f, kind, &args, &ok)?;
    let cfgs = f.attrs.iter().filter(|a| a.path().is_ident("cfg")).cloned().collect();
    let is_async = f.sig.asyncness.is_some();
    Ok(Some(Remote { sig, cfgs, name, kind, args, arg_span, ok, err, is_async }))
}

fn take_marks(attrs: &mut Vec<Attribute>) -> syn::Result<Marks> {
    let mut marks = Marks::default();
    let mut errors: Option<syn::Error> = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        let path = attr.path();
        if let Some(short) = ["getter", "setter", "oneway", "stream"].iter().find(|s| path.is_ident(s)) {
            let hint = match *short {
                "getter" | "setter" => format!("write #[pyro5({short})] on a #[proxy] trait method"),
                _ => format!(
                    "a #[proxy] method needs no #[{short}]: the proxy learns oneway methods from the object's \
                     metadata, and a method returning `Result<RemoteIter<'_>, E>` iterates"
                ),
            };
            combine(&mut errors, syn::Error::new(path.span(), hint));
            continue;
        }
        if !path.is_ident("pyro5") {
            kept.push(attr);
            continue;
        }
        marks.first.get_or_insert(path.span());
        let read = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("name") {
                set_once(&mut marks.name, meta.value()?.parse()?, "name", span)
            } else if meta.path.is_ident("getter") || meta.path.is_ident("setter") {
                let attr_name = if meta.input.peek(syn::Token![=]) { Some(meta.value()?.parse()?) } else { None };
                let (slot, what) = if meta.path.is_ident("getter") {
                    (&mut marks.getter, "getter")
                } else {
                    (&mut marks.setter, "setter")
                };
                set_once(slot, (span, attr_name), what, span)
            } else if meta.path.is_ident("oneway") || meta.path.is_ident("stream") || meta.path.is_ident("skip") {
                Err(meta.error(
                    "not needed on a #[proxy] method: the proxy learns oneway methods from the object's metadata, \
                     a method returning `Result<RemoteIter<'_>, E>` iterates, and a method with a body runs locally",
                ))
            } else {
                Err(meta.error(
                    "unknown #[pyro5] option on a #[proxy] method; expected `name = \"...\"`, `getter`, \
                     `getter = \"attr\"`, `setter`, `setter = \"attr\"`",
                ))
            }
        });
        if let Err(e) = read {
            combine(&mut errors, e);
        }
    }
    *attrs = kept;
    match errors {
        Some(e) => Err(e),
        None => Ok(marks),
    }
}

/// The kind from the markers, and the remote name: given (`name = ...`, `getter = ...`,
/// `setter = ...`), or the Rust name (a setter's without `set_`).
fn kind_and_name(f: &TraitItemFn, m: &Marks) -> syn::Result<(Kind, LitStr)> {
    let (kind, attr_name) = match (&m.getter, &m.setter) {
        (Some(_), Some((span, _))) => {
            return Err(syn::Error::new(*span, "a method can't be both `getter` and `setter`"));
        }
        (Some((_, name)), None) => (Kind::Getter, name),
        (None, Some((_, name))) => (Kind::Setter, name),
        (None, None) => (Kind::Call, &None),
    };
    let name = match (attr_name, &m.name) {
        (Some(_), Some(n)) => return Err(syn::Error::new(n.span(), "the name is given twice")),
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => {
            let rust = syn::ext::IdentExt::unraw(&f.sig.ident).to_string();
            let span = f.sig.ident.span();
            match kind {
                Kind::Setter => match rust.strip_prefix("set_") {
                    Some(attr) if !attr.is_empty() => LitStr::new(attr, span),
                    _ => {
                        return Err(syn::Error::new(
                            span,
                            "a setter is named `set_<attribute>`, or given its attribute with \
                             #[pyro5(setter = \"...\")]",
                        ));
                    }
                },
                _ => LitStr::new(&rust, span),
            }
        }
    };
    let text = name.value();
    if text.is_empty() {
        return Err(syn::Error::new(name.span(), "the name must not be empty"));
    }
    if is_private_name(&text) {
        return Err(syn::Error::new(
            name.span(),
            format!(
                "Pyro never exposes the private name `{text}`, so this call would always fail; \
                 give the remote name with #[pyro5(name = \"...\")]"
            ),
        ));
    }
    Ok((kind, name))
}

/// `&self` or `&mut self`, not variadic.
fn check_signature(sig: &Signature) -> syn::Result<()> {
    let receiver = match sig.inputs.first() {
        Some(FnArg::Receiver(r)) => r,
        _ => {
            return Err(syn::Error::new(
                sig.ident.span(),
                "a #[proxy] method takes `&self` or `&mut self` (the proxy's connection); an associated function \
                 needs a default body",
            ));
        }
    };
    let by_ref = matches!(&*receiver.ty, Type::Reference(r)
        if matches!(&*r.elem, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self")));
    if !by_ref {
        return Err(syn::Error::new(
            receiver.span(),
            "a #[proxy] method takes `&self` (threads may share the proxy, their calls pipelined on its \
             connection) or `&mut self`",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new(v.span(), "variadic methods can't be called remotely"));
    }
    if let Some(GenericParam::Const(c)) = sig.generics.params.iter().find(|p| matches!(p, GenericParam::Const(_))) {
        return Err(syn::Error::new(c.span(), "a #[proxy] method can't be generic over constants"));
    }
    Ok(())
}

/// `T` and `E` of the `Result<T, E>` returned.
fn result_types(sig: &Signature) -> syn::Result<(Type, Type)> {
    const EXPECTED: &str = "a #[proxy] method returns `Result<T, E>` with `E: From<pyro5_std::ProxyError>` \
                            (e.g. `Result<String, ProxyError>`): a remote call can always fail";
    let ty = match &sig.output {
        ReturnType::Default => return Err(syn::Error::new(sig.paren_token.span.close(), EXPECTED)),
        ReturnType::Type(_, ty) => ty,
    };
    let mut ty = &**ty;
    while let Type::Group(g) = ty {
        ty = &g.elem;
    }
    let last = match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().filter(|last| last.ident == "Result"),
        _ => None,
    };
    if let Some(last) = last {
        let types: Vec<&Type> = match &last.arguments {
            PathArguments::AngleBracketed(a) => a
                .args
                .iter()
                .filter_map(|a| match a {
                    GenericArgument::Type(t) => Some(t),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        return match types.as_slice() {
            [ok, err] => Ok(((*ok).clone(), (*err).clone())),
            _ => Err(syn::Error::new(
                last.span(),
                "write both types of the result, `Result<T, E>`: the proxy reads them from the signature",
            )),
        };
    }
    Err(syn::Error::new(ty.span(), EXPECTED))
}

/// Getters take nothing, setters one value and return `()`.
fn check_params(f: &TraitItemFn, kind: Kind, args: &[Ident], ok: &Type) -> syn::Result<()> {
    let extra = |n: usize| f.sig.inputs.iter().nth(n + 1).map_or(f.sig.ident.span(), Spanned::span);
    match kind {
        Kind::Getter if !args.is_empty() => {
            Err(syn::Error::new(extra(0), "a getter takes no arguments: `fn x(&mut self) -> Result<T, E>`"))
        }
        Kind::Setter if args.len() != 1 => Err(syn::Error::new(
            extra(1.min(args.len())),
            "a setter takes the value only: `fn set_x(&mut self, value: T) -> Result<(), E>`",
        )),
        Kind::Setter if !is_unit(ok) => Err(syn::Error::new(ok.span(), "a setter returns `Result<(), E>`")),
        _ => Ok(()),
    }
}

/// Whether `ty` is `()`.
pub(crate) fn is_unit(ty: &Type) -> bool {
    match ty {
        Type::Tuple(t) => t.elems.is_empty(),
        Type::Paren(p) => is_unit(&p.elem),
        Type::Group(g) => is_unit(&g.elem),
        _ => false,
    }
}

/// The last identifier of a path type (`RemoteIter` of `pyro5_std::RemoteIter<'_>`).
fn last_ident(ty: &Type) -> Option<&Ident> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| &s.ident),
        Type::Group(g) => last_ident(&g.elem),
        _ => None,
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, what: &str, span: Span) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(span, format!("`{what}` given twice")));
    }
    *slot = Some(value);
    Ok(())
}

//! One method of the impl as Pyro sees it: its Python name, its role (method, cursor
//! stream, property getter or setter), its parameters and what its return value becomes.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, GenericParam, ImplItemFn, Lifetime, LitStr, Pat, PathArguments, ReturnType, Type,
    TypeImplTrait, TypeParamBound,
};

use crate::attrs::{self, MethodAttrs, combine};
use crate::names::is_private_name;

/// What a method is to Python.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Role {
    /// A method; `oneway` ones are listed as such.
    Method {
        /// Called oneway.
        oneway: bool,
    },
    /// A stream of items produced one at a time from a cursor (`#[stream]`).
    Cursor,
    /// The start of a cursor stream (`#[stream(next = f)]`): takes the Python parameters
    /// and returns the first cursor; `f` makes the items.
    StreamStart,
    /// Reads a property (`#[getter]`).
    Getter,
    /// Writes a property (`#[setter]`).
    Setter,
}

/// One parameter after the receiver.
pub(crate) enum Param {
    /// A Python parameter.
    Python {
        /// Its keyword name.
        name: String,
        /// Its position among the Python parameters.
        index: usize,
        /// `Option<T>`: None when not passed.
        optional: bool,
        /// Where its type is, for errors about the type.
        span: Span,
    },
    /// `&CallContext<'_>`: the call's context.
    Context,
    /// `Reply<'_, '_>`: the method answers itself.
    Reply,
    /// `&mut StreamCursor` of a cursor stream.
    Cursor,
    /// `VarArgs<T>`: the positional arguments past the Python parameters (`*args`).
    VarArgs {
        /// The Rust parameter's name, for errors.
        name: String,
    },
    /// `KwArgs<T>`: the keyword arguments that name no Python parameter (`**kwargs`).
    KwArgs {
        /// The Rust parameter's name, for errors.
        name: String,
    },
}

/// How the returned value is answered.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Answer {
    /// Nothing returned: Python's `None`.
    Unit,
    /// Any `Serialize` value.
    Value,
    /// `impl Iterator`: an item stream the daemon drives (feature `alloc` of the core).
    Iter,
    /// `Option<T>` of a cursor stream: the next item or the end.
    NextItem,
    /// The first cursor of a stream a `#[stream(next = f)]` method starts.
    StartStream,
    /// `Replied`: the method answered through its `Reply` parameter.
    Replied,
}

/// A method `#[expose]` exposes.
pub(crate) struct Exposed {
    /// The Rust name.
    pub ident: syn::Ident,
    /// The Python name (a method's or a property's).
    pub name: String,
    /// What it is.
    pub role: Role,
    /// Its parameters, receiver excluded, in order.
    pub params: Vec<Param>,
    /// Whether it returns a `Result` whose `Err` is raised.
    pub result: bool,
    /// How the value (the `Ok` one of a `Result`) is answered.
    pub answer: Answer,
    /// The return type's span, for errors about it.
    pub ret_span: Span,
    /// The name's span, for errors about duplicates.
    pub span: Span,
    /// An `async fn`: answered by a future the daemon runs.
    pub is_async: bool,
    /// The method making the items of the stream a [`Role::StreamStart`] method starts.
    pub stream_next: Option<syn::Ident>,
}

impl Exposed {
    /// Whether it takes the positional arguments past its Python parameters, and the
    /// keyword arguments naming none.
    pub fn takes_rest(&self) -> (bool, bool) {
        let var = self.params.iter().any(|p| matches!(p, Param::VarArgs { .. }));
        let kw = self.params.iter().any(|p| matches!(p, Param::KwArgs { .. }));
        (var, kw)
    }

    /// The Python parameter names in order.
    pub fn python_names(&self) -> Vec<&str> {
        self.params
            .iter()
            .filter_map(|p| match p {
                Param::Python { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Read `f`'s markers (removing them) and, when it is exposed, what it is. May add
/// `+ 'static` to an `impl Iterator` return type (see the crate docs).
pub(crate) fn analyze(f: &mut ImplItemFn) -> syn::Result<Option<Exposed>> {
    let marks = MethodAttrs::take(&mut f.attrs);
    let mut errors: Option<syn::Error> = None;
    // Parameter markers go whether the method is exposed or not. One entry per parameter
    // after the receiver.
    let mut given_names = Vec::new();
    for arg in &mut f.sig.inputs {
        if let FnArg::Typed(t) = arg {
            match attrs::take_param_name(&mut t.attrs) {
                Ok(name) => given_names.push(name),
                Err(e) => combine(&mut errors, e),
            }
        }
    }
    let marks = match (marks, errors) {
        (Ok(marks), None) => marks,
        (Ok(_), Some(e)) => return Err(e),
        (Err(mut e), more) => {
            e.extend(more);
            return Err(e);
        }
    };
    let receiver = f.sig.inputs.first().and_then(|a| match a {
        FnArg::Receiver(r) => Some(r),
        FnArg::Typed(_) => None,
    });
    if marks.skip.is_some() {
        return match marks.first.filter(|_| has_other_marks(&marks)) {
            Some(span) => {
                Err(syn::Error::new(span, "`skip` leaves the method out; other markers make no sense with it"))
            }
            None => Ok(None),
        };
    }
    let Some(receiver) = receiver else {
        return match marks.first {
            Some(span) => Err(syn::Error::new(
                span,
                "only methods with a `&self` or `&mut self` receiver can be exposed; this is an associated function",
            )),
            None => Ok(None),
        };
    };
    let role = role(&marks)?;
    let (name, name_span) = python_name(f, &marks, role)?;
    if is_private_name(&name) {
        if marks.any() {
            return Err(syn::Error::new(
                name_span,
                format!(
                    "Pyro never exposes the private name `{name}`; give another with #[pyro5(name = \"...\")] \
                     (or #[getter(name = \"...\")])"
                ),
            ));
        }
        return Ok(None); // private, like Python's `_name`
    }
    if !matches!(*receiver.ty, Type::Reference(_)) {
        return Err(syn::Error::new(
            receiver.span(),
            "an exposed method takes `&self` or `&mut self` (the object stays in the daemon); \
             leave this one out with #[pyro5(skip)]",
        ));
    }
    let mutable_receiver = receiver.mutability.map(|m| m.span());
    check_signature(f)?;
    let params = params(f, role, given_names)?;
    let (result, answer, ret_span) = returns(f, &marks, role, &params)?;
    let is_async = f.sig.asyncness.is_some();
    if is_async {
        check_async(f, mutable_receiver, role, &params, answer)?;
    }
    Ok(Some(Exposed {
        ident: f.sig.ident.clone(),
        name,
        role,
        params,
        result,
        answer,
        ret_span,
        span: name_span,
        is_async,
        stream_next: marks.stream_next,
    }))
}

fn has_other_marks(m: &MethodAttrs) -> bool {
    m.oneway.is_some()
        || m.getter.is_some()
        || m.setter.is_some()
        || m.stream.is_some()
        || m.name.is_some()
        || m.result.is_some()
}

fn role(m: &MethodAttrs) -> syn::Result<Role> {
    let marked: Vec<(&str, Span)> =
        [("oneway", m.oneway), ("getter", m.getter), ("setter", m.setter), ("stream", m.stream)]
            .into_iter()
            .filter_map(|(n, s)| s.map(|s| (n, s)))
            .collect();
    if let [(a, _), (b, span), ..] = marked.as_slice() {
        return Err(syn::Error::new(*span, format!("a method can't be both `{a}` and `{b}`")));
    }
    Ok(match marked.first() {
        None => Role::Method { oneway: false },
        Some(("oneway", _)) => Role::Method { oneway: true },
        Some(("getter", _)) => Role::Getter,
        Some(("setter", _)) => Role::Setter,
        Some(_) if m.stream_next.is_some() => Role::StreamStart,
        Some(_) => Role::Cursor,
    })
}

/// The Python name: given, or the Rust name (a setter's without `set_`).
fn python_name(f: &ImplItemFn, m: &MethodAttrs, role: Role) -> syn::Result<(String, Span)> {
    if let Some(name) = &m.name {
        return Ok((name.value(), name.span()));
    }
    let ident = &f.sig.ident;
    let rust = syn::ext::IdentExt::unraw(ident).to_string();
    if role == Role::Setter {
        return match rust.strip_prefix("set_") {
            Some(attr) if !attr.is_empty() => Ok((attr.to_owned(), ident.span())),
            _ => Err(syn::Error::new(
                ident.span(),
                "a setter is named `set_<attribute>`, or given its attribute with #[setter(name = \"...\")]",
            )),
        };
    }
    Ok((rust, ident.span()))
}

fn check_signature(f: &ImplItemFn) -> syn::Result<()> {
    let sig = &f.sig;
    if let Some(u) = &sig.unsafety {
        return Err(syn::Error::new(u.span(), "unsafe methods can't be exposed"));
    }
    if let Some(p) = sig.generics.params.iter().find(|p| !matches!(p, GenericParam::Lifetime(_))) {
        return Err(syn::Error::new(
            p.span(),
            "an exposed method can't be generic over types or constants: the daemon must know what to \
             deserialize; use concrete types (lifetimes are fine)",
        ));
    }
    if let Some(attr) = f.attrs.iter().find(|a| a.path().is_ident("cfg")) {
        return Err(syn::Error::new(
            attr.path().span(),
            "#[cfg] on an exposed method is not supported (the metadata is fixed at expansion); \
             move the method to an impl block of its own, or leave it out with #[pyro5(skip)]",
        ));
    }
    Ok(())
}

/// What an `async fn` may be: a method (oneway or not) on `&self`, whose parameters all come
/// from Python as owned values and whose result is a value. Its future outlives the call's
/// bytes and the borrow of the object (it owns a clone of the object).
fn check_async(
    f: &ImplItemFn,
    mutable_receiver: Option<Span>,
    role: Role,
    params: &[Param],
    answer: Answer,
) -> syn::Result<()> {
    let span = f.sig.asyncness.span();
    if !matches!(role, Role::Method { .. }) {
        return Err(syn::Error::new(span, "only methods can be async (not getters, setters or streams)"));
    }
    if let Some(receiver) = mutable_receiver {
        return Err(syn::Error::new(
            receiver,
            "an async method takes `&self`: its call runs on a clone of the object (`Self: Clone`), so keep \
             shared state behind an `Arc` (with a lock where it changes)",
        ));
    }
    let typed = f.sig.inputs.iter().filter_map(|a| match a {
        FnArg::Typed(t) => Some(t),
        FnArg::Receiver(_) => None,
    });
    for (t, p) in typed.zip(params) {
        match p {
            Param::Python { .. } | Param::VarArgs { .. } | Param::KwArgs { .. } if has_reference(&t.ty) => {
                return Err(syn::Error::new(
                    t.ty.span(),
                    "an async method takes owned parameters (`String`, not `&str`): the call's bytes are not \
                     kept while it runs",
                ));
            }
            Param::Python { .. } | Param::VarArgs { .. } | Param::KwArgs { .. } => {}
            _ => {
                return Err(syn::Error::new(
                    t.ty.span(),
                    "an async method takes only parameters from Python (no `&CallContext`, `Reply` or cursor)",
                ));
            }
        }
    }
    if answer == Answer::Iter {
        return Err(syn::Error::new(span, "an async method can't return an iterator: return a collection"));
    }
    Ok(())
}

/// Whether `ty` borrows (a reference or a lifetime anywhere in it).
fn has_reference(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_reference(&mut self, _: &'ast syn::TypeReference) {
            self.0 = true;
        }
        fn visit_lifetime(&mut self, _: &'ast Lifetime) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.0
}

/// The parameters after the receiver.
fn params(f: &ImplItemFn, role: Role, given_names: Vec<Option<LitStr>>) -> syn::Result<Vec<Param>> {
    let mut out = Vec::new();
    let mut index = 0;
    let mut errors: Option<syn::Error> = None;
    let mut context = false;
    let mut reply = false;
    let typed = f.sig.inputs.iter().filter_map(|a| match a {
        FnArg::Typed(t) => Some(t),
        FnArg::Receiver(_) => None,
    });
    for (t, given) in typed.zip(given_names) {
        let name_span = given.as_ref().map_or_else(|| t.pat.span(), LitStr::span);
        if let (Some(name), false) = (&given, is_python_param(&t.ty)) {
            combine(&mut errors, syn::Error::new(name.span(), "only a parameter from Python has a Python name"));
            continue;
        }
        let param = if is_context(&t.ty) {
            if std::mem::replace(&mut context, true) {
                Err(syn::Error::new(t.ty.span(), "only one `&CallContext` parameter"))
            } else {
                Ok(Param::Context)
            }
        } else if last_segment_is(&t.ty, "Reply") {
            if matches!(role, Role::Cursor | Role::StreamStart) {
                Err(syn::Error::new(t.ty.span(), "a cursor stream can't take the `Reply`: it answers with its items"))
            } else if std::mem::replace(&mut reply, true) {
                Err(syn::Error::new(t.ty.span(), "only one `Reply` parameter"))
            } else {
                Ok(Param::Reply)
            }
        } else if let Type::Reference(r) = &*t.ty
            && r.mutability.is_some()
        {
            if role == Role::Cursor && !out.iter().any(|p| matches!(p, Param::Cursor)) {
                Ok(Param::Cursor)
            } else if role == Role::Cursor {
                Err(syn::Error::new(t.ty.span(), "a cursor stream takes one `&mut StreamCursor`"))
            } else if role == Role::StreamStart {
                Err(syn::Error::new(
                    t.ty.span(),
                    "the start of a stream takes no cursor: it returns the first one, which its `next` method takes",
                ))
            } else {
                Err(syn::Error::new(
                    t.ty.span(),
                    "a `&mut` parameter can't come from Python; for a cursor stream mark the method #[stream]",
                ))
            }
        } else if let Some(kind) = rest_kind(&t.ty) {
            let name = match &*t.pat {
                Pat::Ident(p) => syn::ext::IdentExt::unraw(&p.ident).to_string(),
                _ => kind.to_string(),
            };
            let taken = out.iter().any(|p| match p {
                Param::VarArgs { .. } => kind == "VarArgs",
                Param::KwArgs { .. } => kind == "KwArgs",
                _ => false,
            });
            if !matches!(role, Role::Method { .. } | Role::StreamStart) {
                Err(syn::Error::new(t.ty.span(), format!("only a method takes `{kind}`")))
            } else if taken {
                Err(syn::Error::new(t.ty.span(), format!("only one `{kind}` parameter")))
            } else if kind == "VarArgs" {
                Ok(Param::VarArgs { name })
            } else {
                Ok(Param::KwArgs { name })
            }
        } else if let Type::ImplTrait(_) = &*t.ty {
            Err(syn::Error::new(t.ty.span(), "`impl Trait` parameters can't be exposed: use a type to deserialize"))
        } else {
            python_param(t, given, index).inspect(|_| index += 1)
        };
        let param = param.and_then(|p| match &p {
            Param::Python { name, .. }
                if out.iter().any(|o| matches!(o, Param::Python { name: other, .. } if other == name)) =>
            {
                Err(syn::Error::new(name_span, format!("two parameters with the Python name `{name}`")))
            }
            Param::Python { .. } if out.iter().any(|o| matches!(o, Param::VarArgs { .. } | Param::KwArgs { .. })) => {
                Err(syn::Error::new(t.ty.span(), "parameters from Python come before `VarArgs` and `KwArgs`"))
            }
            _ => Ok(p),
        });
        match param {
            Ok(p) => out.push(p),
            Err(e) => combine(&mut errors, e),
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let span = f.sig.ident.span();
    match role {
        Role::Cursor if index > 0 || !out.iter().any(|p| matches!(p, Param::Cursor)) => Err(syn::Error::new(
            span,
            "a cursor stream takes exactly one parameter, `cursor: &mut StreamCursor`, and nothing from Python \
             (for parameters from Python, start the stream with #[stream(next = method)])",
        )),
        Role::Getter if index > 0 => {
            Err(syn::Error::new(span, "a getter takes no parameters (a `&CallContext` or the `Reply` at most)"))
        }
        Role::Setter if index != 1 => Err(syn::Error::new(
            span,
            "a setter takes exactly one parameter, the value (and a `&CallContext` or the `Reply` at most)",
        )),
        _ => Ok(out),
    }
}

fn python_param(t: &syn::PatType, given: Option<LitStr>, index: usize) -> syn::Result<Param> {
    let name = match (&given, &*t.pat) {
        (Some(name), _) => name.value(),
        (None, Pat::Ident(p)) if p.subpat.is_none() => syn::ext::IdentExt::unraw(&p.ident).to_string(),
        _ => {
            return Err(syn::Error::new(
                t.pat.span(),
                "an exposed parameter needs a plain name (it is the Python keyword), or #[pyro5(name = \"...\")]",
            ));
        }
    };
    Ok(Param::Python { name, index, optional: last_segment_is(&t.ty, "Option"), span: t.ty.span() })
}

/// What the return value becomes.
fn returns(f: &mut ImplItemFn, m: &MethodAttrs, role: Role, params: &[Param]) -> syn::Result<(bool, Answer, Span)> {
    let replies = params.iter().any(|p| matches!(p, Param::Reply));
    let ReturnType::Type(_, ty) = &mut f.sig.output else {
        if replies {
            return Err(syn::Error::new(f.sig.ident.span(), "a method taking the `Reply` returns `Replied`"));
        }
        if role == Role::Cursor {
            return Err(syn::Error::new(f.sig.ident.span(), CURSOR_RETURN));
        }
        if role == Role::StreamStart {
            return Err(syn::Error::new(f.sig.ident.span(), START_RETURN));
        }
        return Ok((false, Answer::Unit, f.sig.ident.span()));
    };
    let span = ty.span();
    if replies {
        if let Some((true, s)) = m.result {
            return Err(syn::Error::new(s, "a method taking the `Reply` answers itself; it can't return a `Result`"));
        }
        return Ok((false, Answer::Replied, span));
    }
    let result = match m.result {
        Some((forced, _)) => forced,
        None => last_segment_is(ty, "Result"),
    };
    // The type the value is in: a Result's first argument, when it is spelled out.
    let inner: Option<&mut Type> = if result { first_type_arg(ty) } else { Some(&mut **ty) };
    let answer = match inner {
        // The value must be a `StreamCursor`; the compiler says so at the return type.
        _ if role == Role::StreamStart => Answer::StartStream,
        None => Answer::Value,
        Some(inner) if role == Role::Cursor => {
            if !last_segment_is(inner, "Option") {
                return Err(syn::Error::new(inner.span(), CURSOR_RETURN));
            }
            Answer::NextItem
        }
        Some(Type::ImplTrait(it)) if is_iterator(it) => {
            make_static(it);
            Answer::Iter
        }
        Some(Type::Tuple(t)) if t.elems.is_empty() && !result => Answer::Unit,
        Some(_) => Answer::Value,
    };
    if role == Role::Cursor && answer != Answer::NextItem {
        return Err(syn::Error::new(span, CURSOR_RETURN));
    }
    Ok((result, answer, span))
}

const CURSOR_RETURN: &str =
    "a cursor stream returns `Option<T>` (or `Result<Option<T>, E>`): the next item, None at the end";

const START_RETURN: &str = "the start of a stream returns its first `StreamCursor` (or `Result<StreamCursor, E>`), which its `next` \
     method takes";

/// Whether a parameter of type `ty` is one named parameter from Python (rather than from
/// the daemon, or the rest of the arguments).
fn is_python_param(ty: &Type) -> bool {
    !is_context(ty)
        && !last_segment_is(ty, "Reply")
        && !matches!(ty, Type::Reference(r) if r.mutability.is_some())
        && rest_kind(ty).is_none()
}

/// `"VarArgs"` or `"KwArgs"` for a parameter taking the rest of the arguments (`*args`,
/// `**kwargs`).
fn rest_kind(ty: &Type) -> Option<&'static str> {
    ["VarArgs", "KwArgs"].into_iter().find(|kind| last_segment_is(ty, kind))
}

fn is_context(ty: &Type) -> bool {
    matches!(ty, Type::Reference(r) if r.mutability.is_none() && last_segment_is(&r.elem, "CallContext"))
}

/// Whether `ty` is a path whose last segment is `name`.
fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| s.ident == name),
        Type::Group(g) => last_segment_is(&g.elem, name),
        Type::Paren(p) => last_segment_is(&p.elem, name),
        _ => false,
    }
}

/// The first type argument of a path type (`T` of `Result<T, E>`).
fn first_type_arg(ty: &mut Type) -> Option<&mut Type> {
    let Type::Path(p) = ty else { return None };
    let PathArguments::AngleBracketed(args) = &mut p.path.segments.last_mut()?.arguments else { return None };
    args.args.iter_mut().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

fn is_iterator(it: &TypeImplTrait) -> bool {
    it.bounds.iter().any(|b| match b {
        TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| {
            matches!(s.ident.to_string().as_str(), "Iterator" | "DoubleEndedIterator" | "ExactSizeIterator")
        }),
        _ => false,
    })
}

/// Add `+ 'static` to an `impl Iterator` that says nothing about what it captures: the
/// daemon keeps the iterator after the call (and in edition 2024 `impl Trait` would
/// otherwise capture the borrow of `self`).
fn make_static(it: &mut TypeImplTrait) {
    let says = it.bounds.iter().any(|b| matches!(b, TypeParamBound::Lifetime(_) | TypeParamBound::PreciseCapture(_)));
    if !says {
        it.bounds.push(TypeParamBound::Lifetime(Lifetime::new("'static", it.span())));
    }
}

//! The marker attributes `#[expose]` reads on methods and parameters, and removes from the
//! impl it emits: `#[pyro5(...)]` and the short forms `#[oneway]`, `#[getter]`, `#[setter]`,
//! `#[stream]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, LitBool, LitStr, Meta};

/// The short attribute names, each the same as the `#[pyro5(...)]` flag of that name.
const SHORT_FORMS: &[&str] = &["oneway", "getter", "setter", "stream"];

/// What the markers on one method say. Each flag keeps the span of the marker, for errors.
#[derive(Default)]
pub(crate) struct MethodAttrs {
    /// `skip`: not exposed.
    pub skip: Option<Span>,
    /// `oneway`.
    pub oneway: Option<Span>,
    /// `getter`.
    pub getter: Option<Span>,
    /// `setter`.
    pub setter: Option<Span>,
    /// `stream` (a cursor stream).
    pub stream: Option<Span>,
    /// `stream(next = f)`: the method starts a cursor stream whose items `f` makes.
    pub stream_next: Option<syn::Ident>,
    /// `name = "..."`: the Python name.
    pub name: Option<LitStr>,
    /// `result` / `result = false`: whether the return value is a `Result`, overriding
    /// what the macro reads from the type.
    pub result: Option<(bool, Span)>,
    /// The first of our markers, for errors about the method as a whole.
    pub first: Option<Span>,
}

impl MethodAttrs {
    /// Remove our markers from `attrs` and read them.
    pub fn take(attrs: &mut Vec<Attribute>) -> syn::Result<Self> {
        let mut out = Self::default();
        let mut errors: Option<syn::Error> = None;
        let mut kept = Vec::with_capacity(attrs.len());
        for attr in attrs.drain(..) {
            let result = if attr.path().is_ident("pyro5") {
                out.first.get_or_insert(attr.path().span());
                out.read_pyro5(&attr)
            } else if let Some(flag) = SHORT_FORMS.iter().find(|f| attr.path().is_ident(f)) {
                out.first.get_or_insert(attr.path().span());
                out.read_short(flag, &attr)
            } else {
                kept.push(attr);
                Ok(())
            };
            if let Err(e) = result {
                combine(&mut errors, e);
            }
        }
        *attrs = kept;
        match errors {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// `#[pyro5(flag, name = "...", result = bool)]`.
    fn read_pyro5(&mut self, attr: &Attribute) -> syn::Result<()> {
        if let Meta::Path(_) = attr.meta {
            return Err(syn::Error::new(attr.path().span(), "expected #[pyro5(...)], e.g. #[pyro5(oneway)]"));
        }
        attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("name") {
                let name: LitStr = meta.value()?.parse()?;
                set_name(&mut self.name, name)
            } else if meta.path.is_ident("result") {
                let value =
                    if meta.input.peek(syn::Token![=]) { meta.value()?.parse::<LitBool>()?.value } else { true };
                set_flag(&mut self.result, (value, span), "result", span)
            } else if meta.path.is_ident("skip") {
                set_flag(&mut self.skip, span, "skip", span)
            } else if let Some(flag) = SHORT_FORMS.iter().find(|f| meta.path.is_ident(f)) {
                self.set_short(flag, span)
            } else {
                Err(meta.error(
                    "unknown #[pyro5] option; expected one of `skip`, `oneway`, `getter`, `setter`, `stream`, \
                     `name = \"...\"`, `result`, `result = false`",
                ))
            }
        })
    }

    /// `#[oneway]`, `#[stream]`, `#[stream(next = f)]`, `#[getter]`, `#[getter(name = "x")]`,
    /// `#[setter]`, `#[setter(name = "x")]`.
    fn read_short(&mut self, flag: &str, attr: &Attribute) -> syn::Result<()> {
        let span = attr.path().span();
        self.set_short(flag, span)?;
        match &attr.meta {
            Meta::Path(_) => Ok(()),
            Meta::List(_) if flag == "stream" => attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("next") {
                    let next: syn::Ident = meta.value()?.parse()?;
                    set_flag(&mut self.stream_next, next, "next", meta.path.span())
                } else {
                    Err(meta.error("unknown #[stream] option; expected `next = method`"))
                }
            }),
            Meta::List(_) if matches!(flag, "getter" | "setter") => attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    let name: LitStr = meta.value()?.parse()?;
                    set_name(&mut self.name, name)
                } else {
                    Err(meta.error(format!("unknown #[{flag}] option; expected `name = \"...\"`")))
                }
            }),
            _ => Err(syn::Error::new(span, format!("#[{flag}] takes no arguments"))),
        }
    }

    fn set_short(&mut self, flag: &str, span: Span) -> syn::Result<()> {
        let slot = match flag {
            "oneway" => &mut self.oneway,
            "getter" => &mut self.getter,
            "setter" => &mut self.setter,
            _ => &mut self.stream,
        };
        set_flag(slot, span, flag, span)
    }

    /// Whether any marker was there.
    pub fn any(&self) -> bool {
        self.first.is_some()
    }
}

/// The `next` method a `#[stream(next = f)]` marker in `attrs` names, if any (read without
/// removing the marker; errors are reported when the method's markers are taken).
pub(crate) fn stream_next(attrs: &[Attribute]) -> Option<syn::Ident> {
    let marker = attrs.iter().find(|a| a.path().is_ident("stream"))?;
    let mut next = None;
    let _ = marker.parse_nested_meta(|meta| {
        if meta.path.is_ident("next") {
            next = Some(meta.value()?.parse()?);
        }
        Ok(())
    });
    next
}

/// The markers on a parameter: `#[pyro5(name = "objectId")]`, the Python keyword.
pub(crate) fn take_param_name(attrs: &mut Vec<Attribute>) -> syn::Result<Option<LitStr>> {
    let mut name = None;
    let mut errors: Option<syn::Error> = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("pyro5") {
            if SHORT_FORMS.iter().any(|f| attr.path().is_ident(f)) {
                combine(
                    &mut errors,
                    syn::Error::new(attr.path().span(), "this marker goes on a method, not a parameter"),
                );
                continue;
            }
            kept.push(attr);
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let value: LitStr = meta.value()?.parse()?;
                set_name(&mut name, value)
            } else {
                Err(meta.error("a parameter takes only #[pyro5(name = \"...\")], its Python keyword"))
            }
        });
        if let Err(e) = result {
            combine(&mut errors, e);
        }
    }
    *attrs = kept;
    match errors {
        Some(e) => Err(e),
        None => Ok(name),
    }
}

/// Errors for our markers where nothing can be exposed (consts, types in the impl); the
/// markers are removed.
pub(crate) fn refuse_markers(attrs: &mut Vec<Attribute>, what: &str) -> syn::Result<()> {
    let ours = |a: &Attribute| a.path().is_ident("pyro5") || SHORT_FORMS.iter().any(|f| a.path().is_ident(f));
    let found = attrs.iter().find(|a| ours(a)).map(|a| a.path().span());
    attrs.retain(|a| !ours(a));
    match found {
        Some(span) => Err(syn::Error::new(span, format!("#[expose] markers go on methods, not on {what}"))),
        None => Ok(()),
    }
}

fn set_flag<T>(slot: &mut Option<T>, value: T, what: &str, span: Span) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(span, format!("`{what}` given twice")));
    }
    *slot = Some(value);
    Ok(())
}

fn set_name(slot: &mut Option<LitStr>, name: LitStr) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(name.span(), "`name` given twice"));
    }
    if name.value().is_empty() {
        return Err(syn::Error::new(name.span(), "the name must not be empty"));
    }
    *slot = Some(name);
    Ok(())
}

/// Add `e` to the errors reported together.
pub(crate) fn combine(errors: &mut Option<syn::Error>, e: syn::Error) {
    match errors {
        Some(all) => all.combine(e),
        None => *errors = Some(e),
    }
}

//! The `impl PyroObject` `#[expose]` writes: `metadata` from static slices, and `invoke`,
//! `get_attr`, `set_attr`, `next_item` as matches on the name, each arm reading the
//! arguments with `Args::check`/`required`/`optional` and answering through the `Reply`.
//!
//! Only `::core` and the core crate's paths are used, and nothing allocates, except the arm
//! of a method returning `impl Iterator` (it boxes the iterator; the core needs feature
//! `alloc` for it). Local names start with `__pyro5_` so they cannot meet the user's.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{ItemImpl, LitStr, Path};

use crate::method::{Answer, Exposed, Param, Role};

/// What the trait impl is made of.
pub(crate) struct Object<'a> {
    /// The impl block (its generics, where-clause and self type are reused).
    pub item: &'a ItemImpl,
    /// The Python class name.
    pub class: LitStr,
    /// The path of the core crate.
    pub krate: &'a Path,
    /// The exposed methods and properties, in declaration order.
    pub exposed: &'a [Exposed],
}

impl Object<'_> {
    /// `impl PyroObject for T`.
    pub fn emit(&self) -> TokenStream {
        let Self { item, class, krate, exposed } = self;
        let (impl_generics, _, where_clause) = item.generics.split_for_impl();
        let self_ty = &item.self_ty;
        let methods = names(exposed, |e| matches!(e.role, Role::Method { .. } | Role::Cursor | Role::StreamStart));
        let oneway = names(exposed, |e| e.role == (Role::Method { oneway: true }));
        let attrs = dedup(names(exposed, |e| matches!(e.role, Role::Getter | Role::Setter)));

        let invoke_arms =
            exposed.iter().filter(|e| matches!(e.role, Role::Method { .. } | Role::Cursor | Role::StreamStart));
        let invoke_arms = invoke_arms.map(|e| self.invoke_arm(e));
        let get_attr = self.attr_fn(Role::Getter);
        let set_attr = self.attr_fn(Role::Setter);
        let next_item = self.next_item_fn();
        let is_async = exposed.iter().any(|e| e.is_async);
        let has_async = is_async.then(|| {
            quote! {
                fn has_async_methods(&self) -> bool {
                    true
                }
            }
        });
        let metadata = quote! {
            #krate::server::Metadata {
                class_name: #class,
                methods: &[#(#methods),*],
                oneway: &[#(#oneway),*],
                attrs: &[#(#attrs),*],
            }
        };

        quote! {
            impl #impl_generics #krate::server::PyroObject for #self_ty #where_clause {
                fn metadata(&self) -> #krate::server::Metadata<'static> {
                    #metadata
                }

                fn class_info() -> ::core::option::Option<#krate::server::ClassInfo> {
                    ::core::option::Option::Some(#krate::server::ClassInfo {
                        metadata: #metadata,
                        has_async_methods: #is_async,
                    })
                }

                fn invoke(
                    &mut self,
                    __pyro5_inv: &#krate::server::Invocation<'_>,
                    __pyro5_reply: #krate::server::Reply<'_, '_>,
                ) -> #krate::server::Replied {
                    match __pyro5_inv.method {
                        #(#invoke_arms)*
                        // The daemon checks the name against the metadata first: not reached.
                        _ => __pyro5_reply.raise(&#krate::server::PyException::attribute_error(::core::format_args!(
                            "'{}' object has no attribute '{}'",
                            #class,
                            __pyro5_inv.method
                        ))),
                    }
                }

                #get_attr
                #set_attr
                #next_item
                #has_async
            }
        }
    }

    /// The `invoke` arm of a method or of the start of a cursor stream.
    fn invoke_arm(&self, e: &Exposed) -> TokenStream {
        let name = &e.name;
        let read = self.read_args(e, "invoke");
        let body = match e.role {
            // The first item is made by the first `next_item`, not here.
            Role::Cursor => quote! { __pyro5_reply.stream(0) },
            _ if e.is_async => self.start_async(e),
            _ => self.call_and_answer(e),
        };
        quote! {
            #name => {
                #read
                #body
            }
        }
    }

    /// `get_attr` or `set_attr`, when some property has one.
    fn attr_fn(&self, role: Role) -> TokenStream {
        let krate = self.krate;
        let arms: Vec<TokenStream> = self
            .exposed
            .iter()
            .filter(|e| e.role == role)
            .map(|e| {
                let name = &e.name;
                let read = self.read_args(e, "__setattr__");
                let body = self.call_and_answer(e);
                quote! { #name => { #read #body } }
            })
            .collect();
        if arms.is_empty() {
            return TokenStream::new();
        }
        let f = match role {
            Role::Getter => quote!(get_attr),
            _ => quote!(set_attr),
        };
        quote! {
            fn #f(
                &mut self,
                __pyro5_name: &str,
                __pyro5_inv: &#krate::server::Invocation<'_>,
                __pyro5_reply: #krate::server::Reply<'_, '_>,
            ) -> #krate::server::Replied {
                match __pyro5_name {
                    #(#arms)*
                    // An attribute with only the other accessor.
                    _ => #krate::server::unknown_attribute(__pyro5_name, __pyro5_reply),
                }
            }
        }
    }

    /// `next_item`, when there are cursor streams.
    fn next_item_fn(&self) -> TokenStream {
        let krate = self.krate;
        let arms: Vec<TokenStream> = self
            .exposed
            .iter()
            .filter(|e| matches!(e.role, Role::Cursor | Role::StreamStart))
            .map(|e| {
                let name = &e.name;
                let body = match &e.stream_next {
                    // What the `next` method returns answers, whichever of the forms.
                    Some(next) => quote_spanned! {next.span()=>
                        #krate::server::NextItem::answer(self.#next(__pyro5_cursor), __pyro5_reply)
                    },
                    None => self.call_and_answer(e),
                };
                quote! { #name => { #body } }
            })
            .collect();
        if arms.is_empty() {
            return TokenStream::new();
        }
        quote! {
            fn next_item(
                &mut self,
                __pyro5_method: &str,
                __pyro5_cursor: &mut #krate::server::StreamCursor,
                __pyro5_reply: #krate::server::Reply<'_, '_>,
            ) -> #krate::server::Replied {
                match __pyro5_method {
                    #(#arms)*
                    _ => __pyro5_reply.stop(),
                }
            }
        }
    }

    /// Check the call against the Python parameters and read each into `__pyro5_arg<i>`;
    /// on a mismatch, raise Python's TypeError. A setter's value is argument 1 of
    /// `__setattr__(name, value)`, not checked further (as Pyro does).
    fn read_args(&self, e: &Exposed, setattr: &str) -> TokenStream {
        let krate = self.krate;
        let class = &self.class;
        let python = e.python_names();
        let method = if e.role == Role::Setter { setattr } else { e.name.as_str() };
        let function = quote! {
            let __pyro5_function = #krate::server::Qualname { class_name: #class, method: #method };
        };
        match e.role {
            Role::Getter => return TokenStream::new(),
            Role::Setter => {
                let span = e.params.iter().find_map(|p| match p {
                    Param::Python { span, .. } => Some(*span),
                    _ => None,
                });
                let span = span.unwrap_or_else(proc_macro2::Span::call_site);
                return quote_spanned! {span=>
                    #function
                    let __pyro5_arg0 = match __pyro5_inv.args.required(__pyro5_function, 1usize, "value") {
                        ::core::result::Result::Ok(__pyro5_v) => __pyro5_v,
                        ::core::result::Result::Err(__pyro5_e) => return __pyro5_reply.raise(&__pyro5_e),
                    };
                };
            }
            _ => {}
        }
        let reads = e.params.iter().filter_map(|p| {
            let Param::Python { name, index, optional, span } = p else { return None };
            let var = arg_var(*index);
            Some(if *optional {
                // Not passed and passed as None are both None.
                quote_spanned! {*span=>
                    let #var = match __pyro5_inv.args.optional(#index, #name) {
                        ::core::result::Result::Ok(__pyro5_v) => ::core::option::Option::unwrap_or(__pyro5_v, ::core::option::Option::None),
                        ::core::result::Result::Err(__pyro5_e) => return __pyro5_reply.raise(&__pyro5_e),
                    };
                }
            } else {
                quote_spanned! {*span=>
                    let #var = match __pyro5_inv.args.required(__pyro5_function, #index, #name) {
                        ::core::result::Result::Ok(__pyro5_v) => __pyro5_v,
                        ::core::result::Result::Err(__pyro5_e) => return __pyro5_reply.raise(&__pyro5_e),
                    };
                }
            })
        });
        let (var, kw) = e.takes_rest();
        let check = if var || kw {
            quote! {
                __pyro5_inv.args.check_with_rest(
                    __pyro5_function,
                    &[#(#python),*],
                    #krate::server::Rest { args: #var, kwargs: #kw },
                )
            }
        } else {
            quote! { __pyro5_inv.args.check(__pyro5_function, &[#(#python),*]) }
        };
        let count = python.len();
        let rest = e.params.iter().filter_map(|p| match p {
            Param::VarArgs { name } => Some(quote! {
                let __pyro5_varargs = match __pyro5_inv.args.var_args(#count, #name) {
                    ::core::result::Result::Ok(__pyro5_v) => __pyro5_v,
                    ::core::result::Result::Err(__pyro5_e) => return __pyro5_reply.raise(&__pyro5_e),
                };
            }),
            Param::KwArgs { name } => Some(quote! {
                let __pyro5_kwargs = match __pyro5_inv.args.var_kwargs(&[#(#python),*], #name) {
                    ::core::result::Result::Ok(__pyro5_v) => __pyro5_v,
                    ::core::result::Result::Err(__pyro5_e) => return __pyro5_reply.raise(&__pyro5_e),
                };
            }),
            _ => None,
        });
        quote! {
            #function
            if let ::core::result::Result::Err(__pyro5_e) = #check {
                return __pyro5_reply.raise(&__pyro5_e);
            }
            #(#reads)*
            #(#rest)*
        }
    }

    /// The arguments of the method's call, from what was read.
    fn call_args(e: &Exposed) -> impl Iterator<Item = TokenStream> + '_ {
        e.params.iter().map(|p| match p {
            Param::Python { index, .. } => {
                let var = arg_var(*index);
                quote!(#var)
            }
            Param::Context => quote!(__pyro5_inv.context),
            Param::Reply => quote!(__pyro5_reply),
            Param::Cursor => quote!(__pyro5_cursor),
            Param::VarArgs { .. } => quote!(__pyro5_varargs),
            Param::KwArgs { .. } => quote!(__pyro5_kwargs),
        })
    }

    /// Call the method with what was read, and answer with what it returned.
    fn call_and_answer(&self, e: &Exposed) -> TokenStream {
        let ident = &e.ident;
        let args = Self::call_args(e);
        self.answer_call(e, &quote! { self.#ident(#(#args),*) })
    }

    /// An async method: a future owning a clone of the object and the arguments read, whose
    /// answer is written once the connection takes it (`Reply::later`).
    fn start_async(&self, e: &Exposed) -> TokenStream {
        let krate = self.krate;
        let ident = &e.ident;
        let args = Self::call_args(e);
        let answer = self.answer_call(e, &quote! { __pyro5_out });
        // `Self: Clone` is asked for at the method.
        let this = quote_spanned! {e.span=> ::core::clone::Clone::clone(&*self) };
        quote! {
            extern crate alloc as __pyro5_alloc;
            let __pyro5_this = #this;
            __pyro5_reply.later(__pyro5_alloc::boxed::Box::pin(async move {
                let __pyro5_out = __pyro5_this.#ident(#(#args),*).await;
                let __pyro5_answer: #krate::server::AsyncAnswer = __pyro5_alloc::boxed::Box::new(
                    move |__pyro5_reply: #krate::server::Reply<'_, '_>| -> #krate::server::Replied { #answer },
                );
                __pyro5_answer
            }))
        }
    }

    /// Answer with what `call` (an expression) gives.
    fn answer_call(&self, e: &Exposed, call: &TokenStream) -> TokenStream {
        let span = e.ret_span;
        if e.answer == Answer::Unit {
            return quote! {
                #call;
                __pyro5_reply.ok(&())
            };
        }
        let answer = self.answer(e.answer, e.ret_span);
        if e.result {
            quote_spanned! {span=>
                match #call {
                    ::core::result::Result::Ok(__pyro5_value) => { #answer }
                    ::core::result::Result::Err(__pyro5_error) => __pyro5_reply.raise(&__pyro5_error),
                }
            }
        } else {
            quote! {
                let __pyro5_value = #call;
                #answer
            }
        }
    }

    /// Answer with `__pyro5_value`.
    fn answer(&self, answer: Answer, span: proc_macro2::Span) -> TokenStream {
        let krate = self.krate;
        match answer {
            Answer::Unit => quote! { __pyro5_reply.ok(&()) },
            Answer::Value => quote_spanned! {span=> __pyro5_reply.ok(&__pyro5_value) },
            Answer::Replied => quote! { __pyro5_value },
            Answer::StartStream => quote_spanned! {span=> __pyro5_reply.stream(__pyro5_value) },
            Answer::NextItem => quote_spanned! {span=>
                match __pyro5_value {
                    ::core::option::Option::Some(__pyro5_item) => __pyro5_reply.ok(&__pyro5_item),
                    ::core::option::Option::None => __pyro5_reply.stop(),
                }
            },
            // An item that does not convert ends the stream (the client sees StopIteration).
            Answer::Iter => quote_spanned! {span=>
                extern crate alloc as __pyro5_alloc;
                let __pyro5_iter: #krate::server::streams::BoxedIter = __pyro5_alloc::boxed::Box::new(
                    ::core::iter::Iterator::map_while(
                        __pyro5_value,
                        #krate::server::streams::IntoStreamItem::into_stream_item,
                    ),
                );
                __pyro5_reply.stream_iter(__pyro5_iter)
            },
        }
    }
}

fn arg_var(index: usize) -> syn::Ident {
    quote::format_ident!("__pyro5_arg{}", index)
}

fn names(exposed: &[Exposed], keep: impl Fn(&Exposed) -> bool) -> Vec<&str> {
    exposed.iter().filter(|e| keep(e)).map(|e| e.name.as_str()).collect()
}

/// The names once each, in first-seen order.
fn dedup(names: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(names.len());
    for name in names {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

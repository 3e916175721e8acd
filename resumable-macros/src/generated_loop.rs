//! The hot loop: from boundary to boundary with one check per iteration and a save at each
//! boundary; the flags it reads and how its items are fingerprinted.

use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;

use crate::control_flow;
use crate::crate_path::RUNTIME;
use crate::facts::Facts;
use crate::first_use::FirstUse;
use crate::generated::Locals;
use crate::model::{Every, Model};
use crate::names::local;
use crate::rewrite::Bodies;

/// When a boundary is due: after `every` iterations, or when a timer thread raises `tick`
/// (`every = "5m"`; its count of iterations never comes).
pub struct Schedule {
    /// `every`, as a literal.
    pub every: Literal,
    pub interval_ms: u64,
}

impl Schedule {
    pub fn new(every: Every) -> Schedule {
        let (every, interval_ms) = match every {
            Every::Iterations(count) => (count, 0),
            Every::Interval(ms) => (u64::MAX, ms),
        };
        Schedule {
            every: Literal::u64_suffixed(every),
            interval_ms,
        }
    }

    /// The one check per iteration: a boundary is due, or a signal asked to stop (or the timer
    /// ticked). `|`, not `||`: nothing to short-circuit (measured 0.1 vs 0.4 ns in the former
    /// one-loop shape; the same in this one).
    fn due_now(&self, locals: &Locals) -> TokenStream {
        let Locals { pulled, due, .. } = locals;
        let (stop, tick) = (local("stop"), local("tick"));
        let tick_set = if self.interval_ms > 0 {
            quote!(| #tick.load(::core::sync::atomic::Ordering::Relaxed))
        } else {
            quote!()
        };
        quote! {
            (#pulled == #due)
                | (#stop.load(::core::sync::atomic::Ordering::Relaxed) != 0)
                #tick_set
        }
    }
}

/// The checkpointed loop, from its first item on: `iter` is its iterator, `due` and `stride`
/// are set. In a nest, an inner loop that runs out gives back the `pulled += 1` of the `next`
/// that found nothing, so that `pulled` counts completed iterations between loops.
pub fn hot_loop(
    model: &Model,
    facts: &Facts,
    bodies: &Bodies,
    locals: &Locals,
    schedule: &Schedule,
    watch_list: &TokenStream,
    state_list: &TokenStream,
) -> TokenStream {
    let Locals {
        iter,
        run,
        pulled,
        saving,
        due,
        err,
        stride,
        position,
        outer_at,
        base,
        fingerprint,
        seek,
        ..
    } = locals;
    let nest = &model.nest;
    let private = quote!(#RUNTIME::__private);
    let stop = local("stop");
    let item = local("item");
    let next_item = local("next_item");
    let boundary = local("boundary");
    let current = local("current");
    let handed_back = control_flow::handed_back(&facts.by_value);
    let outer_label = control_flow::label(control_flow::OUTER_LABEL, Span::call_site());
    let body_label = control_flow::label(control_flow::BODY_LABEL, Span::call_site());
    let due_now = schedule.due_now(locals);
    // In a nest, where the loop is, set before each save: the outer loop's iteration, and the
    // inner loop's iterations completed in it (`pulled` counts them over the whole run).
    let set_position = if nest.is_some() {
        quote!(#position = (#outer_at, #pulled - 1 - #base);)
    } else {
        quote!()
    };
    let checkpointed = nest.as_ref().map_or(&model.looped, |nest| &nest.inner);
    // The body's statements, not its block: a block as the labelled block's last
    // expression is `unused_braces` to rustc when the user wrote it on one line.
    let body = &bodies.checkpointed.stmts;
    let pat = &checkpointed.pat;
    let loop_attrs = &checkpointed.attrs;
    let ran_out = if nest.is_some() {
        quote!(#pulled -= 1;)
    } else {
        quote!()
    };
    // A single loop knows before it pulls the next item whether a boundary follows: an
    // iterator that implements `Position` says there where it stands (`mark`: nothing for
    // other iterators, so it compiles away). A nest pulls first, then checks.
    let due_next = local("due_next");
    let pull = |on_none: TokenStream| {
        quote! {
            match ::core::iter::Iterator::next(&mut #iter) {
                ::core::option::Option::Some(#item) => #item,
                ::core::option::Option::None => {
                    #ran_out
                    #on_none
                }
            }
        }
    };
    let first_pull = pull(quote!(return #private::exit(#private::Exit::Completed, #handed_back);));
    let next_pull = pull(quote!(break #outer_label;));
    let (first, next) = match nest {
        None => {
            let mark = quote!((#seek.mark)(&#iter, &mut #run, #pulled - 1));
            (
                quote! {
                    let mut #boundary = #due_now;
                    if #boundary {
                        #mark;
                    }
                    let mut #item = #first_pull;
                },
                quote! {
                    let #due_next = #due_now;
                    if #due_next {
                        #mark;
                    }
                    #item = #next_pull;
                    if #due_next {
                        break;
                    }
                },
            )
        }
        Some(_) => (
            quote! {
                let mut #item = #first_pull;
                let mut #boundary = #due_now;
            },
            quote! {
                #item = #next_pull;
                if #due_now {
                    break;
                }
            },
        ),
    };
    quote! {
        #pulled += 1; // iteration `pulled - 1` starts: a failure resumes it
        #first
        #(#loop_attrs)*
        // The boundary code comes after the body in the source (it runs before it when
        // `boundary` starts true): the type checker then knows the state's types.
        #outer_label: loop {
            if !#boundary {
                // From one boundary to the next: no calls but `next` and the body,
                // so the state and counters the closure captures stay in registers.
                loop {
                    #body_label: {
                        // Moved into the block, so that what the pattern leaves of
                        // the item (`_`, `ref x`) is dropped at the end of the
                        // iteration, before the next item is pulled, as in a `for`.
                        let #current = #item;
                        let #pat = #current;
                        #(#body)*
                    }
                    // Unreachable when every path through the body diverges (it
                    // returns, breaks or panics): not the user's to hear about.
                    #[allow(unreachable_code)]
                    {
                        #pulled += 1;
                        #next
                    }
                }
            }
            // A boundary: `pulled - 1` iterations are complete and `item` is the next.
            #due = #pulled.saturating_add(#stride);
            let #next_item = #fingerprint(&#item);
            #set_position
            if let ::core::result::Result::Err(#err) = #private::boundary(
                &mut #run,
                &mut #saving,
                #pulled - 1,
                #next_item,
                &#watch_list,
                &#state_list,
            ) {
                return #private::exit(#private::Exit::Abort(#err), #handed_back);
            }
            if #stop.load(::core::sync::atomic::Ordering::Relaxed) != 0 {
                return #private::exit(#private::Exit::Stopped, #handed_back);
            }
            #boundary = false;
        }
        #private::exit(#private::Exit::Completed, #handed_back)
    }
}

/// The stop flag, the timer's flag, `saving`, and where the state was last touched.
pub fn watch(bodies: &Bodies, locals: &Locals, schedule: &Schedule) -> TokenStream {
    let Locals {
        run,
        saving,
        dirty_at,
        ..
    } = locals;
    let (stop, tick) = (local("stop"), local("tick"));
    let tick_local = if schedule.interval_ms > 0 {
        quote!(let #tick = #run.tick_flag();)
    } else {
        quote!()
    };
    let dirty_local = if let FirstUse::Marked = bodies.first_use {
        quote!(let mut #dirty_at: u64 = u64::MAX;)
    } else {
        quote!()
    };
    quote! {
        let #stop = #run.stop_flag();
        #tick_local
        let mut #saving = false;
        #dirty_local
    }
}

/// `let fingerprint = …`: how the loop's items are fingerprinted, once `iter` exists.
pub fn fingerprint_of(locals: &Locals) -> TokenStream {
    let Locals {
        iter, fingerprint, ..
    } = locals;
    let private = quote!(#RUNTIME::__private);
    let fingerprinted = local("fingerprinted");
    quote! {
        let #fingerprint = #private::fingerprint_of(&#iter, |#fingerprinted| {
            (&&&#private::ItemHash(#fingerprinted)).item_hash()
        });
    }
}

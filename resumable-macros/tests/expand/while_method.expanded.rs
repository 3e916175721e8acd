impl Grid {
    fn run(&mut self, steps: u64) {
        #[allow(unused_imports)]
        use ::resumable::__private::probe_traits::*;
        let __resumable_key = ::resumable::__private::args_key(
            "run",
            [
                (
                    "self",
                    (&&&&&::resumable::__private::Arg(&self)).arg_hash(),
                    (&&&&::resumable::__private::Arg(&self)).arg_text(),
                ),
                (
                    "steps",
                    (&&&&&::resumable::__private::Arg(&steps)).arg_hash(),
                    (&&&&::resumable::__private::Arg(&steps)).arg_text(),
                ),
            ],
        );
        let __resumable_name = ::resumable::__private::method_name::<Self>("run");
        let mut scratch = Vec::new();
        let mut __resumable_iter = ::core::iter::IntoIterator::into_iter(0u64..);
        let __resumable_seek = (&::resumable::__private::Seek(&__resumable_iter)).seeker();
        let __resumable_codec_0 = (&&&&::resumable::__private::CodecOf(&(*self))).codec();
        ::resumable::__private::not_shared((&&::resumable::__private::Sharing(&(*self))).sharing());
        ::resumable::__private::decodable_whole(
            (&&&&::resumable::__private::Borrowed(&(*self))).whole(),
        );
        let mut __resumable_run = match ::resumable::__private::Run::start(
            &::resumable::__private::Spec {
                function: "run",
                path: &__resumable_name,
                name: &__resumable_name,
                interval_ms: 30000u64,
                state: &["self"],
                signals: true,
                key: __resumable_key.as_ref(),
                dir: ::core::option::Option::None,
                nest: false,
                code: 14592856937162710108u64,
                strict: false,
                position: (__resumable_seek.shape)(),
            },
            &[(__resumable_codec_0.shape)(::core::option::Option::Some(
                &(*self),
            ))],
        ) {
            ::core::result::Result::Ok(__resumable_run) => __resumable_run,
            ::core::result::Result::Err(__resumable_err) => {
                ::resumable::__private::fail(__resumable_err)
            }
        };
        __resumable_run.watch(&[(
            "steps",
            (&&&&::resumable::__private::Watched(&steps)).print(),
        )]);
        let mut __resumable_restore = __resumable_run.restore_with(__resumable_seek.load);
        if let ::core::option::Option::Some(__resumable_restore) = &mut __resumable_restore {
            (*self) = match (__resumable_codec_0.fresh)(__resumable_restore) {
                ::core::result::Result::Ok(__resumable_value) => __resumable_value,
                ::core::result::Result::Err(__resumable_err) => {
                    ::resumable::__private::fail(__resumable_err)
                }
            };
        }
        let __resumable_fingerprint = ::resumable::__private::fingerprint_of(
            &__resumable_iter,
            |__resumable_fingerprinted| {
                (&&&::resumable::__private::ItemHash(__resumable_fingerprinted)).item_hash()
            },
        );
        let mut __resumable_iter = match __resumable_run.prepare(
            __resumable_iter,
            __resumable_restore,
            __resumable_fingerprint,
            __resumable_seek.resume,
        ) {
            ::core::result::Result::Ok(__resumable_value) => __resumable_value,
            ::core::result::Result::Err(__resumable_err) => {
                ::resumable::__private::fail(__resumable_err)
            }
        };
        let mut __resumable_pulled: u64 = __resumable_run.start_index();
        let __resumable_stop = __resumable_run.stop_flag();
        let __resumable_tick = __resumable_run.tick_flag();
        let mut __resumable_saving = false;
        let mut __resumable_dirty_at: u64 = u64::MAX;
        let __resumable_exit = ::std::panic::catch_unwind(::core::panic::AssertUnwindSafe(
            || -> ::resumable::__private::Exit<()> {
                let mut __resumable_iter = __resumable_iter;
                let mut __resumable_due: u64 =
                    __resumable_run.first_boundary(18446744073709551615u64);
                let __resumable_stride: u64 = __resumable_run.stride();
                __resumable_pulled += 1;
                let mut __resumable_boundary = (__resumable_pulled == __resumable_due)
                    | (__resumable_stop.load(::core::sync::atomic::Ordering::Relaxed) != 0)
                    | __resumable_tick.load(::core::sync::atomic::Ordering::Relaxed);
                if __resumable_boundary {
                    (__resumable_seek.mark)(
                        &__resumable_iter,
                        &mut __resumable_run,
                        __resumable_pulled - 1,
                    );
                }
                let mut __resumable_item = match ::core::iter::Iterator::next(&mut __resumable_iter)
                {
                    ::core::option::Option::Some(__resumable_item) => __resumable_item,
                    ::core::option::Option::None => {
                        return ::resumable::__private::exit(
                            ::resumable::__private::Exit::Completed,
                            (),
                        );
                    }
                };
                '__resumable_outer: loop {
                    if !__resumable_boundary {
                        loop {
                            '__resumable_body: {
                                let __resumable_current = __resumable_item;
                                let _ = __resumable_current;
                                if self.steps < steps {
                                    scratch.clear();
                                    self.step(match &mut scratch {
                                        __resumable_operand => {
                                            __resumable_dirty_at = __resumable_pulled;
                                            __resumable_operand
                                        }
                                    });
                                } else {
                                    break '__resumable_outer;
                                }
                            }
                            #[allow(unreachable_code)]
                            {
                                __resumable_pulled += 1;
                                let __resumable_due_next = (__resumable_pulled == __resumable_due)
                                    | (__resumable_stop
                                        .load(::core::sync::atomic::Ordering::Relaxed)
                                        != 0)
                                    | __resumable_tick
                                        .load(::core::sync::atomic::Ordering::Relaxed);
                                if __resumable_due_next {
                                    (__resumable_seek.mark)(
                                        &__resumable_iter,
                                        &mut __resumable_run,
                                        __resumable_pulled - 1,
                                    );
                                }
                                __resumable_item =
                                    match ::core::iter::Iterator::next(&mut __resumable_iter) {
                                        ::core::option::Option::Some(__resumable_item) => {
                                            __resumable_item
                                        }
                                        ::core::option::Option::None => {
                                            break '__resumable_outer;
                                        }
                                    };
                                if __resumable_due_next {
                                    break;
                                }
                            }
                        }
                    }
                    __resumable_due = __resumable_pulled.saturating_add(__resumable_stride);
                    let __resumable_next_item = __resumable_fingerprint(&__resumable_item);
                    if let ::core::result::Result::Err(__resumable_err) =
                        ::resumable::__private::boundary(
                            &mut __resumable_run,
                            &mut __resumable_saving,
                            __resumable_pulled - 1,
                            __resumable_next_item,
                            &[(
                                "steps",
                                (&&&&::resumable::__private::Watched(&steps)).print(),
                            )],
                            &[&::resumable::__private::Binding::new(
                                &(*self),
                                (&::resumable::__private::Pick(&(*self))).pick(__resumable_codec_0),
                                (&&&::resumable::__private::RoundTrip(&(*self))).comparison(),
                            )],
                        )
                    {
                        return ::resumable::__private::exit(
                            ::resumable::__private::Exit::Abort(__resumable_err),
                            (),
                        );
                    }
                    if __resumable_stop.load(::core::sync::atomic::Ordering::Relaxed) != 0 {
                        return ::resumable::__private::exit(
                            ::resumable::__private::Exit::Stopped,
                            (),
                        );
                    }
                    __resumable_boundary = false;
                }
                ::resumable::__private::exit(::resumable::__private::Exit::Completed, ())
            },
        ))
        .map(::resumable::__private::into_exit);
        match ::resumable::__private::finish(
            &mut __resumable_run,
            __resumable_exit,
            ::resumable::__private::Ended {
                pulled: __resumable_pulled,
                saving: __resumable_saving,
                untouched: __resumable_dirty_at != __resumable_pulled,
                save: ::resumable::__private::FailureSave::State,
            },
            |_| false,
            ::resumable::__private::no_route,
        ) {
            ::resumable::__private::Finished::Return(__resumable_value) => {
                return __resumable_value;
            }
            ::resumable::__private::Finished::GoOn => {}
            ::resumable::__private::Finished::Save(__resumable_pending) => {
                ::resumable::__private::save_after_failure(
                    &mut __resumable_run,
                    __resumable_pending.index,
                    __resumable_pending.failure,
                    &[(
                        "steps",
                        (&&&&::resumable::__private::Watched(&steps)).print(),
                    )],
                    &[&::resumable::__private::Binding::new(
                        &(*self),
                        (&::resumable::__private::Pick(&(*self))).pick(__resumable_codec_0),
                        (&&&::resumable::__private::RoundTrip(&(*self))).comparison(),
                    )],
                );
                return __resumable_pending.saved(&mut __resumable_run);
            }
        }
    }
}

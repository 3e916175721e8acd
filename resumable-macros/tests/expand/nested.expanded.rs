fn train(epochs: u64, data: &[f32]) -> Vec<f32> {
    #[allow(unused_imports)]
    use ::resumable::__private::probe_traits::*;
    let __resumable_key = ::resumable::__private::args_key(
        "train",
        [
            (
                "epochs",
                (&&&&&::resumable::__private::Arg(&epochs)).arg_hash(),
                (&&&&::resumable::__private::Arg(&epochs)).arg_text(),
            ),
            (
                "data",
                (&&&&&::resumable::__private::Arg(&data)).arg_hash(),
                (&&&&::resumable::__private::Arg(&data)).arg_text(),
            ),
        ],
    );
    let mut losses = Vec::new();
    let mut __resumable_outer_iter = ::core::iter::IntoIterator::into_iter(0..epochs);
    let mut __resumable_position: (u64, u64) = (0, 0);
    let __resumable_codec_0 = (&&&&::resumable::__private::CodecOf(&__resumable_position)).codec();
    ::resumable::__private::not_shared(
        (&&::resumable::__private::Sharing(&__resumable_position)).sharing(),
    );
    let __resumable_codec_1 = (&&&&::resumable::__private::CodecOf(&losses)).codec();
    ::resumable::__private::not_shared((&&::resumable::__private::Sharing(&losses)).sharing());
    let __resumable_codec_2 = ::resumable::__private::codec_of();
    let __resumable_codec_3 = ::resumable::__private::codec_of();
    let __resumable_route = |__resumable_err: ::resumable::Error| {
        (&&::resumable::__private::ErrorRoute::<Vec<f32>>::new()).route(__resumable_err)
    };
    let mut __resumable_run = match ::resumable::__private::Run::start(
        &::resumable::__private::Spec {
            function: "train",
            path: ::core::concat!(::core::module_path!(), "::", "train"),
            name: ::core::concat!(::core::module_path!(), "::", "train"),
            interval_ms: 0u64,
            state: &[::resumable::__private::POSITION, "losses", "rate", "loss"],
            signals: true,
            key: __resumable_key.as_ref(),
            dir: ::core::option::Option::None,
            nest: true,
            code: 11754380958576497851u64,
            strict: false,
            position: ::core::option::Option::None,
        },
        &[
            (__resumable_codec_0.shape)(::core::option::Option::Some(&__resumable_position)),
            (__resumable_codec_1.shape)(::core::option::Option::Some(&losses)),
            (__resumable_codec_2.shape)(::core::option::Option::None),
            (__resumable_codec_3.shape)(::core::option::Option::None),
        ],
    ) {
        ::core::result::Result::Ok(__resumable_run) => __resumable_run,
        ::core::result::Result::Err(__resumable_err) => {
            return ::resumable::__private::or_fail(__resumable_route(__resumable_err));
        }
    };
    __resumable_run.watch(&[("data", (&&&&::resumable::__private::Watched(&data)).print())]);
    let mut __resumable_restore = __resumable_run.restore().map(::std::boxed::Box::new);
    if let ::core::option::Option::Some(__resumable_restore) = &mut __resumable_restore {
        match (__resumable_codec_0.load)(__resumable_restore, &mut __resumable_position) {
            ::core::result::Result::Ok(__resumable_value) => __resumable_value,
            ::core::result::Result::Err(__resumable_err) => {
                return ::resumable::__private::or_fail(__resumable_route(__resumable_err));
            }
        };
        __resumable_run.resuming_at(__resumable_position);
    }
    let mut __resumable_outer_iter = match __resumable_run.skip(
        __resumable_outer_iter,
        __resumable_position.0,
        __resumable_restore.is_some(),
    ) {
        ::core::result::Result::Ok(__resumable_value) => __resumable_value,
        ::core::result::Result::Err(__resumable_err) => {
            return ::resumable::__private::or_fail(__resumable_route(__resumable_err));
        }
    };
    __resumable_run.size_hint((0, ::core::option::Option::None));
    let mut __resumable_pulled: u64 = __resumable_run.start_index();
    let mut __resumable_outer_next: u64 = __resumable_position.0;
    let __resumable_stop = __resumable_run.stop_flag();
    let mut __resumable_saving = false;
    let __resumable_exit = ::std::panic::catch_unwind(::core::panic::AssertUnwindSafe(
        || -> ::resumable::__private::Exit<Vec<f32>> {
            let mut __resumable_due: u64 = __resumable_run.first_boundary(100u64);
            let __resumable_stride: u64 = __resumable_run.stride();
            for __resumable_outer_item in __resumable_outer_iter {
                let __resumable_outer_at: u64 = __resumable_outer_next;
                __resumable_outer_next += 1;
                __resumable_run.new_outer_iteration(2usize);
                let epoch = __resumable_outer_item;
                let rate = 1.0 / (1.0 + epoch as f32);
                let mut loss = 0.0;
                let mut __resumable_inner_done: u64 = 0;
                let mut __resumable_restoring = __resumable_restore.take();
                if let ::core::option::Option::Some(__resumable_restore) =
                    &mut __resumable_restoring
                {
                    match (__resumable_codec_1.load)(__resumable_restore, &mut losses) {
                        ::core::result::Result::Ok(__resumable_value) => __resumable_value,
                        ::core::result::Result::Err(__resumable_err) => {
                            return ::resumable::__private::exit(
                                ::resumable::__private::Exit::Abort(__resumable_err),
                                (),
                            );
                        }
                    };
                    __resumable_inner_done = __resumable_position.1;
                }
                let rate = {
                    let mut rate = rate;
                    if let ::core::option::Option::Some(__resumable_restore) =
                        &mut __resumable_restoring
                    {
                        match (__resumable_codec_2.load)(__resumable_restore, &mut rate) {
                            ::core::result::Result::Ok(__resumable_value) => __resumable_value,
                            ::core::result::Result::Err(__resumable_err) => {
                                return ::resumable::__private::exit(
                                    ::resumable::__private::Exit::Abort(__resumable_err),
                                    (),
                                );
                            }
                        };
                    }
                    rate
                };
                if let ::core::option::Option::Some(__resumable_restore) =
                    &mut __resumable_restoring
                {
                    match (__resumable_codec_3.load)(__resumable_restore, &mut loss) {
                        ::core::result::Result::Ok(__resumable_value) => __resumable_value,
                        ::core::result::Result::Err(__resumable_err) => {
                            return ::resumable::__private::exit(
                                ::resumable::__private::Exit::Abort(__resumable_err),
                                (),
                            );
                        }
                    };
                }
                if let ::core::option::Option::Some(__resumable_restore) = __resumable_restoring {
                    match __resumable_restore.finish() {
                        ::core::result::Result::Ok(__resumable_value) => __resumable_value,
                        ::core::result::Result::Err(__resumable_err) => {
                            return ::resumable::__private::exit(
                                ::resumable::__private::Exit::Abort(__resumable_err),
                                (),
                            );
                        }
                    };
                }
                let __resumable_iter = ::core::iter::IntoIterator::into_iter(data.chunks(8));
                let __resumable_fingerprint = ::resumable::__private::fingerprint_of(
                    &__resumable_iter,
                    |__resumable_fingerprinted| {
                        (&&&::resumable::__private::ItemHash(__resumable_fingerprinted)).item_hash()
                    },
                );
                let __resumable_iter =
                    match __resumable_run.skip_inner(__resumable_iter, __resumable_inner_done) {
                        ::core::result::Result::Ok(__resumable_value) => __resumable_value,
                        ::core::result::Result::Err(__resumable_err) => {
                            return ::resumable::__private::exit(
                                ::resumable::__private::Exit::Abort(__resumable_err),
                                (),
                            );
                        }
                    };
                let __resumable_base: u64 = __resumable_pulled - __resumable_inner_done;
                let __resumable_inner_exit =
                    ::std::panic::catch_unwind(::core::panic::AssertUnwindSafe(
                        || -> ::resumable::__private::Exit<Vec<f32>> {
                            let mut __resumable_iter = __resumable_iter;
                            __resumable_pulled += 1;
                            let mut __resumable_item =
                                match ::core::iter::Iterator::next(&mut __resumable_iter) {
                                    ::core::option::Option::Some(__resumable_item) => {
                                        __resumable_item
                                    }
                                    ::core::option::Option::None => {
                                        __resumable_pulled -= 1;
                                        return ::resumable::__private::exit(
                                            ::resumable::__private::Exit::Completed,
                                            (),
                                        );
                                    }
                                };
                            let mut __resumable_boundary = (__resumable_pulled == __resumable_due)
                                | (__resumable_stop.load(::core::sync::atomic::Ordering::Relaxed)
                                    != 0);
                            '__resumable_outer: loop {
                                if !__resumable_boundary {
                                    loop {
                                        '__resumable_body: {
                                            let __resumable_current = __resumable_item;
                                            let batch = __resumable_current;
                                            loss += rate * batch.iter().sum::<f32>();
                                        }
                                        #[allow(unreachable_code)]
                                        {
                                            __resumable_pulled += 1;
                                            __resumable_item = match ::core::iter::Iterator::next(
                                                &mut __resumable_iter,
                                            ) {
                                                ::core::option::Option::Some(__resumable_item) => {
                                                    __resumable_item
                                                }
                                                ::core::option::Option::None => {
                                                    __resumable_pulled -= 1;
                                                    break '__resumable_outer;
                                                }
                                            };
                                            if (__resumable_pulled == __resumable_due)
                                                | (__resumable_stop
                                                    .load(::core::sync::atomic::Ordering::Relaxed)
                                                    != 0)
                                            {
                                                break;
                                            }
                                        }
                                    }
                                }
                                __resumable_due =
                                    __resumable_pulled.saturating_add(__resumable_stride);
                                let __resumable_next_item =
                                    __resumable_fingerprint(&__resumable_item);
                                __resumable_position = (
                                    __resumable_outer_at,
                                    __resumable_pulled - 1 - __resumable_base,
                                );
                                if let ::core::result::Result::Err(__resumable_err) =
                                    ::resumable::__private::boundary(
                                        &mut __resumable_run,
                                        &mut __resumable_saving,
                                        __resumable_pulled - 1,
                                        __resumable_next_item,
                                        &[(
                                            "data",
                                            (&&&&::resumable::__private::Watched(&data)).print(),
                                        )],
                                        &[
                                            &::resumable::__private::Binding::new(
                                                &__resumable_position,
                                                (&::resumable::__private::Pick(
                                                    &__resumable_position,
                                                ))
                                                    .pick(__resumable_codec_0),
                                                (&&&::resumable::__private::RoundTrip(
                                                    &__resumable_position,
                                                ))
                                                    .comparison(),
                                            ),
                                            &::resumable::__private::Binding::new(
                                                &losses,
                                                (&::resumable::__private::Pick(&losses))
                                                    .pick(__resumable_codec_1),
                                                (&&&::resumable::__private::RoundTrip(&losses))
                                                    .comparison(),
                                            ),
                                            &::resumable::__private::Binding::new(
                                                &rate,
                                                (&::resumable::__private::Pick(&rate))
                                                    .pick(__resumable_codec_2),
                                                (&&&::resumable::__private::RoundTrip(&rate))
                                                    .comparison(),
                                            ),
                                            &::resumable::__private::Binding::new(
                                                &loss,
                                                (&::resumable::__private::Pick(&loss))
                                                    .pick(__resumable_codec_3),
                                                (&&&::resumable::__private::RoundTrip(&loss))
                                                    .comparison(),
                                            ),
                                        ],
                                    )
                                {
                                    return ::resumable::__private::exit(
                                        ::resumable::__private::Exit::Abort(__resumable_err),
                                        (),
                                    );
                                }
                                if __resumable_stop.load(::core::sync::atomic::Ordering::Relaxed)
                                    != 0
                                {
                                    return ::resumable::__private::exit(
                                        ::resumable::__private::Exit::Stopped,
                                        (),
                                    );
                                }
                                __resumable_boundary = false;
                            }
                            ::resumable::__private::exit(
                                ::resumable::__private::Exit::Completed,
                                (),
                            )
                        },
                    ))
                    .map(::resumable::__private::into_exit);
                match ::resumable::__private::finish_inner(
                    &mut __resumable_run,
                    __resumable_inner_exit,
                    ::resumable::__private::Ended {
                        pulled: __resumable_pulled,
                        saving: __resumable_saving,
                        untouched: false,
                        save: ::resumable::__private::FailureSave::Unsaved,
                    },
                    |__resumable_value| {
                        (&::resumable::__private::Returned(__resumable_value)).is_failure()
                    },
                ) {
                    ::resumable::__private::InnerFinished::GoOn => {}
                    ::resumable::__private::InnerFinished::Leave(__resumable_exit) => {
                        return ::resumable::__private::exit(__resumable_exit, ());
                    }
                    ::resumable::__private::InnerFinished::Save(__resumable_pending) => {
                        return ::resumable::__private::exit(
                            __resumable_pending.saved(&mut __resumable_run),
                            (),
                        );
                    }
                }
                losses.push(loss);
            }
            if __resumable_restore.is_some() {
                return ::resumable::__private::exit(
                    ::resumable::__private::Exit::Abort(
                        __resumable_run.outer_ended_early(__resumable_position.0),
                    ),
                    (),
                );
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
            untouched: false,
            save: ::resumable::__private::FailureSave::Elsewhere,
        },
        |__resumable_value| (&::resumable::__private::Returned(__resumable_value)).is_failure(),
        __resumable_route,
    ) {
        ::resumable::__private::Finished::Return(__resumable_value) => return __resumable_value,
        ::resumable::__private::Finished::GoOn => {}
        ::resumable::__private::Finished::Save(__resumable_pending) => {
            return __resumable_pending.saved(&mut __resumable_run);
        }
    }
    losses
}

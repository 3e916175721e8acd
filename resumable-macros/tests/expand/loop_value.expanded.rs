fn first_over(limit: u64, points: &[(u64, u64)]) -> (usize, Vec<Point>) {
    #[allow(unused_imports)]
    use ::resumable::__private::probe_traits::*;
    let mut out = Vec::new();
    for point in points {
        assert!(point.0 < limit);
    }
    let mut __resumable_loop_value = ::core::option::Option::None;
    let mut __resumable_iter = ::core::iter::IntoIterator::into_iter(0u64..);
    let __resumable_seek = (&::resumable::__private::Seek(&__resumable_iter)).seeker();
    let __resumable_codec_0 = (&&&&::resumable::__private::CodecOf(&out)).codec();
    ::resumable::__private::not_shared((&&::resumable::__private::Sharing(&out)).sharing());
    let __resumable_route = |__resumable_err: ::resumable::Error| {
        (&&::resumable::__private::ErrorRoute::<(usize, Vec<Point>)>::new()).route(__resumable_err)
    };
    let mut __resumable_run = match ::resumable::__private::Run::start(
        &::resumable::__private::Spec {
            function: "first_over",
            path: ::core::concat!(::core::module_path!(), "::", "first_over"),
            name: ::core::concat!(::core::module_path!(), "::", "first_over"),
            interval_ms: 0u64,
            state: &["out"],
            signals: true,
            key: ::core::option::Option::None,
            dir: ::core::option::Option::None,
            nest: false,
            code: 14764059336787881706u64,
            strict: false,
            position: (__resumable_seek.shape)(),
        },
        &[(__resumable_codec_0.shape)(::core::option::Option::Some(
            &out,
        ))],
    ) {
        ::core::result::Result::Ok(__resumable_run) => __resumable_run,
        ::core::result::Result::Err(__resumable_err) => {
            return ::resumable::__private::or_fail(__resumable_route(__resumable_err));
        }
    };
    __resumable_run.watch(&[
        (
            "limit",
            (&&&&::resumable::__private::Watched(&limit)).print(),
        ),
        (
            "points",
            (&&&&::resumable::__private::Watched(&points)).print(),
        ),
    ]);
    let mut __resumable_restore = __resumable_run.restore_with(__resumable_seek.load);
    if let ::core::option::Option::Some(__resumable_restore) = &mut __resumable_restore {
        out = match (__resumable_codec_0.take)(__resumable_restore, out) {
            ::core::result::Result::Ok(__resumable_value) => __resumable_value,
            ::core::result::Result::Err(__resumable_err) => {
                return ::resumable::__private::or_fail(__resumable_route(__resumable_err));
            }
        };
    }
    let __resumable_fingerprint =
        ::resumable::__private::fingerprint_of(&__resumable_iter, |__resumable_fingerprinted| {
            (&&&::resumable::__private::ItemHash(__resumable_fingerprinted)).item_hash()
        });
    let mut __resumable_iter = match __resumable_run.prepare(
        __resumable_iter,
        __resumable_restore,
        __resumable_fingerprint,
        __resumable_seek.resume,
    ) {
        ::core::result::Result::Ok(__resumable_value) => __resumable_value,
        ::core::result::Result::Err(__resumable_err) => {
            return ::resumable::__private::or_fail(__resumable_route(__resumable_err));
        }
    };
    let mut __resumable_pulled: u64 = __resumable_run.start_index();
    let __resumable_stop = __resumable_run.stop_flag();
    let mut __resumable_saving = false;
    let __resumable_exit = ::std::panic::catch_unwind(::core::panic::AssertUnwindSafe(
        || -> (::resumable::__private::Exit<(usize, Vec<Point>)>, _) {
            #[allow(unused_mut)]
            let mut out = out;
            let mut __resumable_iter = __resumable_iter;
            let mut __resumable_due: u64 = __resumable_run.first_boundary(10u64);
            let __resumable_stride: u64 = __resumable_run.stride();
            __resumable_pulled += 1;
            let mut __resumable_boundary = (__resumable_pulled == __resumable_due)
                | (__resumable_stop.load(::core::sync::atomic::Ordering::Relaxed) != 0);
            if __resumable_boundary {
                (__resumable_seek.mark)(
                    &__resumable_iter,
                    &mut __resumable_run,
                    __resumable_pulled - 1,
                );
            }
            let mut __resumable_item = match ::core::iter::Iterator::next(&mut __resumable_iter) {
                ::core::option::Option::Some(__resumable_item) => __resumable_item,
                ::core::option::Option::None => {
                    return ::resumable::__private::exit(
                        ::resumable::__private::Exit::Completed,
                        ::core::option::Option::Some((out,)),
                    );
                }
            };
            '__resumable_outer: loop {
                if !__resumable_boundary {
                    loop {
                        '__resumable_body: {
                            let __resumable_current = __resumable_item;
                            let _ = __resumable_current;
                            let at = out.len();
                            if at == points.len() {
                                {
                                    __resumable_loop_value = ::core::option::Option::Some(at);
                                    break '__resumable_outer;
                                };
                            }
                            out.push(Point {
                                x: points[at].0,
                                y: points[at].1,
                            });
                            if points[at].0 > limit {
                                return ::resumable::__private::exit(
                                    ::resumable::__private::Exit::<(usize, Vec<Point>)>::Returned(
                                        (at, out),
                                    ),
                                    ::core::option::Option::None,
                                );
                            }
                        }
                        #[allow(unreachable_code)]
                        {
                            __resumable_pulled += 1;
                            let __resumable_due_next = (__resumable_pulled == __resumable_due)
                                | (__resumable_stop.load(::core::sync::atomic::Ordering::Relaxed)
                                    != 0);
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
                        &[
                            (
                                "limit",
                                (&&&&::resumable::__private::Watched(&limit)).print(),
                            ),
                            (
                                "points",
                                (&&&&::resumable::__private::Watched(&points)).print(),
                            ),
                        ],
                        &[&::resumable::__private::Binding::new(
                            &out,
                            (&::resumable::__private::Pick(&out)).pick(__resumable_codec_0),
                            (&&&::resumable::__private::RoundTrip(&out)).comparison(),
                        )],
                    )
                {
                    return ::resumable::__private::exit(
                        ::resumable::__private::Exit::Abort(__resumable_err),
                        ::core::option::Option::Some((out,)),
                    );
                }
                if __resumable_stop.load(::core::sync::atomic::Ordering::Relaxed) != 0 {
                    return ::resumable::__private::exit(
                        ::resumable::__private::Exit::Stopped,
                        ::core::option::Option::Some((out,)),
                    );
                }
                __resumable_boundary = false;
            }
            ::resumable::__private::exit(
                ::resumable::__private::Exit::Completed,
                ::core::option::Option::Some((out,)),
            )
        },
    ));
    let __resumable_exit = match __resumable_exit.map(::resumable::__private::into_parts) {
        ::core::result::Result::Ok((
            __resumable_exit,
            ::core::option::Option::Some(::core::option::Option::Some(__resumable_handed_back)),
        )) => {
            let (__resumable_back_0,) = __resumable_handed_back;
            #[allow(unused_assignments)]
            {
                out = __resumable_back_0;
            }
            ::core::result::Result::Ok(__resumable_exit)
        }
        __resumable_lost => {
            return ::resumable::__private::state_lost(
                &mut __resumable_run,
                __resumable_lost,
                __resumable_pulled,
                |__resumable_value| {
                    (&::resumable::__private::Returned(__resumable_value)).is_failure()
                },
                __resumable_route,
            );
        }
    };
    match ::resumable::__private::finish(
        &mut __resumable_run,
        __resumable_exit,
        ::resumable::__private::Ended {
            pulled: __resumable_pulled,
            saving: __resumable_saving,
            untouched: false,
            save: ::resumable::__private::FailureSave::Unsaved,
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
    let found = match __resumable_loop_value {
        ::core::option::Option::Some(__resumable_loop_value) => __resumable_loop_value,
        ::core::option::Option::None => {
            ::core::unreachable!("a `loop` ends only through a `break`")
        }
    };
    (found, out)
}

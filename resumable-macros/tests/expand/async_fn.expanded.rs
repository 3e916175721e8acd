async fn crawl(files: Vec<String>) -> std::io::Result<Vec<u64>> {
    #[allow(unused_imports)]
    use ::resumable::__private::probe_traits::*;
    let __resumable_key = ::resumable::__private::args_key(
        "crawl",
        [(
            "files",
            (&&&&&::resumable::__private::Arg(&files)).arg_hash(),
            (&&&&::resumable::__private::Arg(&files)).arg_text(),
        )],
    );
    let mut report = Vec::new();
    let mut __resumable_iter = ::core::iter::IntoIterator::into_iter(files);
    let __resumable_seek = (&::resumable::__private::Seek(&__resumable_iter)).seeker();
    let __resumable_codec_0 = (&&&&::resumable::__private::CodecOf(&report)).codec();
    let __resumable_codec_0 = ::resumable::__private::append_only(&report, __resumable_codec_0);
    ::resumable::__private::not_shared((&&::resumable::__private::Sharing(&report)).sharing());
    let __resumable_route = |__resumable_err: ::resumable::Error| {
        (&&::resumable::__private::ErrorRoute::<std::io::Result<Vec<u64>>>::new())
            .route(__resumable_err)
    };
    let mut __resumable_run = match ::resumable::__private::Run::start(
        &::resumable::__private::Spec {
            function: "crawl",
            path: ::core::concat!(::core::module_path!(), "::", "crawl"),
            name: ::core::concat!(::core::module_path!(), "::", "crawl"),
            interval_ms: 0u64,
            state: &["report"],
            signals: true,
            key: __resumable_key.as_ref(),
            dir: ::core::option::Option::None,
            nest: false,
            code: 18409910092806555095u64,
            strict: false,
            position: (__resumable_seek.shape)(),
        },
        &[(__resumable_codec_0.shape)(::core::option::Option::Some(
            &report,
        ))],
    ) {
        ::core::result::Result::Ok(__resumable_run) => __resumable_run,
        ::core::result::Result::Err(__resumable_err) => {
            return ::resumable::__private::or_fail(__resumable_route(__resumable_err));
        }
    };
    let mut __resumable_restore = __resumable_run.restore_with(__resumable_seek.load);
    if let ::core::option::Option::Some(__resumable_restore) = &mut __resumable_restore {
        report = match (__resumable_codec_0.take)(__resumable_restore, report) {
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
    let mut __resumable_dirty_at: u64 = u64::MAX;
    let __resumable_exit =
        ::resumable::__private::CatchUnwind::new(::resumable::__private::exit_future::<
            ::core::result::Result<
                ::resumable::__private::Exit<std::io::Result<Vec<u64>>>,
                <std::io::Result<Vec<u64>> as ::resumable::__private::ResultLike>::Error,
            >,
            _,
        >(async {
            let mut __resumable_iter = __resumable_iter;
            let mut __resumable_due: u64 = __resumable_run.first_boundary(20u64);
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
                        (),
                    );
                }
            };
            '__resumable_outer: loop {
                if !__resumable_boundary {
                    loop {
                        '__resumable_body: {
                            let __resumable_current = __resumable_item;
                            let file = __resumable_current;
                            let bytes = match ::resumable::__private::try_branch(read(&file).await)
                            {
                                ::core::ops::ControlFlow::Continue(__resumable_value) => {
                                    __resumable_value
                                }
                                ::core::ops::ControlFlow::Break(__resumable_residual) => {
                                    return ::resumable::__private::exit(__resumable_residual, ());
                                }
                            };
                            report.push(match bytes.len() as u64 {
                                __resumable_operand => {
                                    __resumable_dirty_at = __resumable_pulled;
                                    __resumable_operand
                                }
                            });
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
                        &[],
                        &[&::resumable::__private::Binding::new(
                            &report,
                            (&::resumable::__private::Pick(&report))
                                .pick_append(__resumable_codec_0),
                            (&&&::resumable::__private::RoundTrip(&report)).comparison(),
                        )],
                    )
                {
                    return ::resumable::__private::exit(
                        ::resumable::__private::Exit::Abort(__resumable_err),
                        (),
                    );
                }
                if __resumable_stop.load(::core::sync::atomic::Ordering::Relaxed) != 0 {
                    return ::resumable::__private::exit(::resumable::__private::Exit::Stopped, ());
                }
                __resumable_boundary = false;
            }
            ::resumable::__private::exit(::resumable::__private::Exit::Completed, ())
        }))
        .await
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
        |__resumable_value| (&::resumable::__private::Returned(__resumable_value)).is_failure(),
        __resumable_route,
    ) {
        ::resumable::__private::Finished::Return(__resumable_value) => return __resumable_value,
        ::resumable::__private::Finished::GoOn => {}
        ::resumable::__private::Finished::Save(__resumable_pending) => {
            ::resumable::__private::save_after_failure(
                &mut __resumable_run,
                __resumable_pending.index,
                __resumable_pending.failure,
                &[],
                &[&::resumable::__private::Binding::new(
                    &report,
                    (&::resumable::__private::Pick(&report)).pick_append(__resumable_codec_0),
                    (&&&::resumable::__private::RoundTrip(&report)).comparison(),
                )],
            );
            return __resumable_pending.saved(&mut __resumable_run);
        }
    }
    Ok(report)
}

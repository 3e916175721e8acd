//! How the closure that runs the loop ends, and what the function returns from it: the
//! [`Exit`] of a `break`, `return` or `?` inside the loop (which the closure cannot do
//! itself), the state it hands back, `?` on stable Rust, whether a returned value is an
//! error, and the same for an async fn's loop.

use core::convert::Infallible;
use core::ops::ControlFlow;

/// How the closure that runs the loop ended.
pub enum Exit<R> {
    /// The iterator ran out, or `break`.
    Completed,
    /// `return value` inside the loop; a failure if `value` is an `Err`.
    Returned(R),
    /// `?` inside the loop short-circuited with this return value.
    Failed(R),
    /// A save failed, or the resumed iterator's order changed.
    Abort(crate::Error),
    /// A signal or [`crate::request_stop`] asked the loop to stop; it saved.
    Stopped,
}

/// What the loop's closure returns from an [`Exit`] and the state it hands back (`()`, or
/// the bindings it moved in: see the macro's `moved.rs`): the `Exit` itself, `(Exit, state)`,
/// or in a function that returns a `Result`, `Ok` of either (its `Err` being an error a
/// macro returned; see [`IntoExit`]). Inferred from the closure's return type.
#[inline(always)]
pub fn exit<X: FromExit>(exit: Exit<X::Value>, state: X::State) -> X {
    X::from_exit(exit, state)
}

/// The types the loop's closure may return.
pub trait FromExit {
    /// The function's return type.
    type Value;
    /// The state handed back.
    type State;
    /// Wraps `exit` and `state`.
    fn from_exit(exit: Exit<Self::Value>, state: Self::State) -> Self;
}

impl<R> FromExit for Exit<R> {
    type Value = R;
    type State = ();

    #[inline(always)]
    fn from_exit(exit: Exit<R>, (): ()) -> Self {
        exit
    }
}

impl<R, E> FromExit for Result<Exit<R>, E> {
    type Value = R;
    type State = ();

    #[inline(always)]
    fn from_exit(exit: Exit<R>, (): ()) -> Self {
        Ok(exit)
    }
}

impl<R, S> FromExit for (Exit<R>, S) {
    type Value = R;
    type State = S;

    #[inline(always)]
    fn from_exit(exit: Exit<R>, state: S) -> Self {
        (exit, state)
    }
}

impl<R, S, E> FromExit for Result<(Exit<R>, S), E> {
    type Value = R;
    type State = S;

    #[inline(always)]
    fn from_exit(exit: Exit<R>, state: S) -> Self {
        Ok((exit, state))
    }
}

/// What the loop's closure returned, as an [`Exit`] and the state it handed back.
pub trait IntoExit<R> {
    /// The state handed back (`()` if none).
    type State;
    /// The `Exit` and the state; an `Err(e)` returned by code the macro could not see
    /// (`anyhow::bail!`) is a failure that returns `Err(e)`, and hands no state back.
    fn into_parts(self) -> (Exit<R>, Option<Self::State>);
}

impl<R> IntoExit<R> for Exit<R> {
    type State = ();

    #[inline(always)]
    fn into_parts(self) -> (Exit<R>, Option<()>) {
        (self, Some(()))
    }
}

impl<R: ResultLike> IntoExit<R> for Result<Exit<R>, R::Error> {
    type State = ();

    #[inline(always)]
    fn into_parts(self) -> (Exit<R>, Option<()>) {
        match self {
            Ok(exit) => (exit, Some(())),
            Err(err) => (Exit::Returned(R::from_error(err)), Some(())),
        }
    }
}

impl<R, S> IntoExit<R> for (Exit<R>, S) {
    type State = S;

    #[inline(always)]
    fn into_parts(self) -> (Exit<R>, Option<S>) {
        (self.0, Some(self.1))
    }
}

impl<R: ResultLike, S> IntoExit<R> for Result<(Exit<R>, S), R::Error> {
    type State = S;

    #[inline(always)]
    fn into_parts(self) -> (Exit<R>, Option<S>) {
        match self {
            Ok((exit, state)) => (exit, Some(state)),
            Err(err) => (Exit::Returned(R::from_error(err)), None),
        }
    }
}

/// The caught value as an [`Exit`], when the closure hands no state back.
#[inline(always)]
pub fn into_exit<R, X: IntoExit<R, State = ()>>(caught: X) -> Exit<R> {
    caught.into_parts().0
}

/// The caught value as an [`Exit`] and the state handed back ([`IntoExit::into_parts`]).
#[inline(always)]
pub fn into_parts<R, X: IntoExit<R>>(caught: X) -> (Exit<R>, Option<X::State>) {
    caught.into_parts()
}

/// The value an [`Exit::Returned`] or [`Exit::Failed`] returns.
///
/// # Panics
/// For the other exits, which return nothing.
pub fn returned_value<R>(exit: Exit<R>) -> R {
    match exit {
        Exit::Returned(value) | Exit::Failed(value) => value,
        _ => unreachable!("only a returned error hands no state back"),
    }
}

/// A function's return type spelled `…Result<…>`, which the loop's closure mirrors.
#[diagnostic::on_unimplemented(
    message = "#[resumable] takes a return type named `Result` to be `core::result::Result`, and `{Self}` is not",
    note = "rename the type, or return `core::result::Result<T, E>` (a type alias of it works)"
)]
pub trait ResultLike {
    /// The error type.
    type Error;
    /// `Err(error)`.
    fn from_error(error: Self::Error) -> Self;
}

impl<T, E> ResultLike for Result<T, E> {
    type Error = E;

    #[inline(always)]
    fn from_error(error: E) -> Self {
        Err(error)
    }
}

/// The `?` operator, for the types it works on in stable Rust (`core::ops::Try` is unstable).
#[diagnostic::on_unimplemented(
    message = "`?` inside a #[resumable] loop works on `Result` and `Option`, not on `{Self}`",
    label = "this `?` is rewritten by #[resumable]"
)]
pub trait Branch {
    /// The value `?` evaluates to.
    type Output;
    /// What `?` returns early with.
    type Residual;
    /// Splits into "go on with this value" and "return early with this".
    fn branch(self) -> ControlFlow<Self::Residual, Self::Output>;
}

impl<T, E> Branch for Result<T, E> {
    type Output = T;
    type Residual = Result<Infallible, E>;

    #[inline(always)]
    fn branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Ok(value) => ControlFlow::Continue(value),
            Err(err) => ControlFlow::Break(Err(err)),
        }
    }
}

impl<T> Branch for Option<T> {
    type Output = T;
    type Residual = Option<Infallible>;

    #[inline(always)]
    fn branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Some(value) => ControlFlow::Continue(value),
            None => ControlFlow::Break(None),
        }
    }
}

/// `?`: the value to go on with, or the closure's early exit.
#[inline(always)]
pub fn try_branch<T: Branch, R>(value: T) -> ControlFlow<Exit<R>, T::Output>
where
    R: FromResidual<T::Residual>,
{
    match value.branch() {
        ControlFlow::Continue(value) => ControlFlow::Continue(value),
        ControlFlow::Break(residual) => {
            ControlFlow::Break(Exit::Failed(R::from_residual(residual)))
        }
    }
}

/// Builds the function's return value from what `?` short-circuited with, converting the
/// error with `From` as `?` does.
#[diagnostic::on_unimplemented(
    message = "`?` cannot return `{R}` early from a function that returns `{Self}`",
    label = "this `?` is rewritten by #[resumable]",
    note = "as with plain `?`: use `?` on a `Result` in a function returning a `Result` whose error type implements `From` of this error, and on an `Option` in a function returning an `Option`"
)]
pub trait FromResidual<R> {
    /// The early return value.
    fn from_residual(residual: R) -> Self;
}

impl<T, E, F: From<E>> FromResidual<Result<Infallible, E>> for Result<T, F> {
    #[inline(always)]
    fn from_residual(residual: Result<Infallible, E>) -> Self {
        match residual {
            Err(err) => Err(From::from(err)),
        }
    }
}

impl<T> FromResidual<Option<Infallible>> for Option<T> {
    #[inline(always)]
    fn from_residual(_: Option<Infallible>) -> Self {
        None
    }
}

/// A value returned from inside the loop, asked whether it is an error. Autoref specialization:
/// `(&Returned(&value)).is_failure()` finds [`ReturnedResult`] for any `Result` (type aliases
/// included) and falls back to [`ReturnedOther`], which says no, for every other type.
pub struct Returned<'a, T: ?Sized>(pub &'a T);

/// `Returned` of a `Result`: a failure if it is `Err`.
pub trait ReturnedResult {
    /// Whether the returned value is an `Err`.
    fn is_failure(&self) -> bool;
}

impl<T, E> ReturnedResult for Returned<'_, Result<T, E>> {
    #[inline(always)]
    fn is_failure(&self) -> bool {
        self.0.is_err()
    }
}

/// `Returned` of anything else: never a failure.
pub trait ReturnedOther {
    /// Always `false`.
    #[inline(always)]
    fn is_failure(&self) -> bool {
        false
    }
}

impl<T: ?Sized> ReturnedOther for &Returned<'_, T> {}

/// Polls an async fn's loop, catching a panic in any poll as `catch_unwind` does for a sync
/// loop: the `Err` holds the panic's payload. Any executor can run it.
pub struct CatchUnwind<F>(core::pin::Pin<Box<F>>);

impl<F: core::future::Future> CatchUnwind<F> {
    /// Wraps the loop's future.
    pub fn new(future: F) -> Self {
        CatchUnwind(Box::pin(future))
    }
}

impl<F: core::future::Future> core::future::Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Self::Output> {
        let future = self.get_mut().0.as_mut();
        match std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| future.poll(cx))) {
            Ok(core::task::Poll::Pending) => core::task::Poll::Pending,
            Ok(core::task::Poll::Ready(exit)) => core::task::Poll::Ready(Ok(exit)),
            Err(panic) => core::task::Poll::Ready(Err(panic)),
        }
    }
}

/// Gives an async fn's loop block its output type `X` (see [`exit`]), which `return` inside
/// it cannot name.
#[inline(always)]
pub fn exit_future<X, F: core::future::Future<Output = X>>(future: F) -> F {
    future
}

/// Where a runtime error goes in a function returning `R`: by autoref specialization,
/// `(&&ErrorRoute::<R>::new()).route(err)` is `Ok(Err(E::from(err)))` when `R` is
/// `Result<T, E>` with `E: From<resumable::Error>` (the generated code returns it), else
/// `Err(err)` (the generated code panics with it, through [`fail`](crate::__private::fail)).
pub struct ErrorRoute<R>(core::marker::PhantomData<R>);

impl<R> ErrorRoute<R> {
    /// The route for a function returning `R`.
    #[inline(always)]
    pub fn new() -> Self {
        ErrorRoute(core::marker::PhantomData)
    }
}

impl<R> Default for ErrorRoute<R> {
    fn default() -> Self {
        Self::new()
    }
}

/// The first choice: the function's error type takes a `resumable::Error`.
pub trait RouteToErr<R> {
    /// `Ok(Err(E::from(err)))`.
    fn route(&self, err: crate::Error) -> Result<R, crate::Error>;
}

impl<T, E: From<crate::Error>> RouteToErr<Result<T, E>> for &ErrorRoute<Result<T, E>> {
    #[inline(always)]
    fn route(&self, err: crate::Error) -> Result<Result<T, E>, crate::Error> {
        Ok(Err(E::from(err)))
    }
}

/// The fallback: the error cannot be returned, so the function panics with it.
pub trait RouteToPanic<R> {
    /// `Err(err)`.
    fn route(&self, err: crate::Error) -> Result<R, crate::Error>;
}

impl<R> RouteToPanic<R> for ErrorRoute<R> {
    #[inline(always)]
    fn route(&self, err: crate::Error) -> Result<R, crate::Error> {
        Err(err)
    }
}

/// A runtime error where the generated code cannot return (inside the loop's closure): the
/// panic it always was.
#[track_caller]
#[inline]
pub fn or_fail<T>(result: Result<T, crate::Error>) -> T {
    result.unwrap_or_else(|err| crate::run::call::fail(err))
}

//! Tracing: what a type's `Deserialize` asks for, recorded (see "Tracing" in the module docs
//! of [`super`]). This file holds the bookkeeping — the types read so far, the passes, the
//! choice of enum variants, the placeholders — and `reader` the deserializer that feeds it.

use std::any::type_name;
use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{self, DeserializeOwned};

mod reader;

use reader::Reader;

use super::{MAX_DEPTH, MAX_PASSES};

/// Tells containers apart within one process: the `type_name` of what their visitor builds.
pub(super) type Id = &'static str;

/// A type, as far as it was read.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Ty {
    /// Not read (yet).
    Unknown,
    Prim(&'static str),
    Option(Box<Ty>),
    Seq(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Tuple(Vec<Ty>),
    /// A struct or enum, described in the tracer's `defs`.
    Ref(Id),
    /// A field read from a real value's bytes (see `find::field_bytes`): its structure is not
    /// recorded.
    Opaque,
}

impl Ty {
    /// Whether it names no container outside `Option`, sequences and maps (which cut mode
    /// leaves empty), so that reading it in cut mode cannot recurse.
    fn is_flat(&self) -> bool {
        match self {
            Ty::Prim(_) | Ty::Option(_) | Ty::Seq(_) | Ty::Map(..) | Ty::Opaque => true,
            Ty::Tuple(items) => items.iter().all(Ty::is_flat),
            Ty::Unknown | Ty::Ref(_) => false,
        }
    }

    pub(super) fn refs<'a>(&'a self, found: &mut Vec<&'a Id>) {
        match self {
            Ty::Unknown | Ty::Prim(_) | Ty::Opaque => {}
            Ty::Option(inner) | Ty::Seq(inner) => inner.refs(found),
            Ty::Map(key, value) => {
                key.refs(found);
                value.refs(found);
            }
            Ty::Tuple(items) => items.iter().for_each(|item| item.refs(found)),
            Ty::Ref(id) => found.push(id),
        }
    }
}

/// The content of a struct or of one enum variant.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Body {
    Unit,
    /// A tuple struct or variant; a newtype is a tuple of one (postcard writes them alike).
    Tuple(Vec<Ty>),
    Struct(Vec<(&'static str, Ty)>),
}

impl Body {
    fn types(&self) -> Vec<&Ty> {
        match self {
            Body::Unit => Vec::new(),
            Body::Tuple(items) => items.iter().collect(),
            Body::Struct(fields) => fields.iter().map(|(_, ty)| ty).collect(),
        }
    }

    fn refs<'a>(&'a self, found: &mut Vec<&'a Id>) {
        self.types().into_iter().for_each(|ty| ty.refs(found));
    }
}

#[derive(Debug)]
pub(super) enum Def {
    Struct {
        name: &'static str,
        body: Body,
    },
    Enum {
        name: &'static str,
        variants: &'static [&'static str],
        /// By variant index; `None` until that variant was read.
        bodies: Vec<Option<Body>>,
    },
}

impl Def {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Def::Struct { name, .. } | Def::Enum { name, .. } => name,
        }
    }

    pub(super) fn refs(&self) -> Vec<&Id> {
        let mut found = Vec::new();
        match self {
            Def::Struct { body, .. } => body.refs(&mut found),
            Def::Enum { bodies, .. } => bodies.iter().flatten().for_each(|b| b.refs(&mut found)),
        }
        found
    }

    fn has_unread_variant(&self) -> bool {
        matches!(self, Def::Enum { bodies, .. } if bodies.iter().any(Option::is_none))
    }
}

/// Why a type cannot be traced (kept for tests; the shape then holds the type name only).
#[derive(Debug)]
pub(super) struct Untraceable {
    pub(super) message: String,
    /// A `Deserialize` impl refused a placeholder (its own error, through
    /// [`de::Error::custom`]), rather than asking for what the tracer cannot give.
    rejected: bool,
}

impl Untraceable {
    pub(super) fn new(message: impl Into<String>) -> Self {
        Untraceable {
            message: message.into(),
            rejected: false,
        }
    }
}

impl fmt::Display for Untraceable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Untraceable {}

impl de::Error for Untraceable {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Untraceable {
            message: msg.to_string(),
            rejected: true,
        }
    }
}

fn unsupported(what: &str) -> Untraceable {
    Untraceable::new(format!(
        "its Deserialize calls {what}, which postcard does not support"
    ))
}

fn conflict(name: &str) -> Untraceable {
    Untraceable::new(format!(
        "two different containers `{name}` have one type name"
    ))
}

#[derive(Default)]
struct Tracer {
    defs: HashMap<Id, Def>,
    /// The containers being read, outermost first, each with its number of variants if it is
    /// an enum read in cut mode (whose choice of variant may be what recurses without end).
    path: Vec<(Id, usize)>,
    depth: usize,
    /// Per enum: how many candidates to pass over when choosing its variant in cut mode.
    skip_base: HashMap<Id, usize>,
    /// This pass recorded something new.
    progress: bool,
    /// This pass failed for a choice of variant that the next pass changes.
    retry: bool,
    /// Per visitor type that reads a string, the placeholder it gets, from [`TEXTS`].
    texts: HashMap<&'static str, usize>,
    /// The visitor that read the last string in this pass.
    last_text: Option<&'static str>,
    /// A field (of the struct with this serde name, at this index) whose `Deserialize`
    /// refused its placeholders in this pass.
    refused: Option<(&'static str, usize)>,
    /// Such fields, and the bytes of a real value's field read instead of placeholders.
    real: HashMap<(&'static str, usize), &'static [u8]>,
    /// A sequence or map read was a hash table (a `HashMap`, `HashSet`): see
    /// [`Traced::hashed`].
    hashed: bool,
}

/// The bytes [`Tracer::real`] reads, kept for the life of the process, once per traced type
/// and field: a deserializer reads a field's bytes for any lifetime its seed asks for, which
/// only `'static` satisfies. One value of each such field per program, then, whatever the
/// number of calls.
fn kept(traced: &'static str, field: (&'static str, usize), bytes: Vec<u8>) -> &'static [u8] {
    type Kept = HashMap<(&'static str, &'static str, usize), &'static [u8]>;
    static KEPT: std::sync::Mutex<Option<Kept>> = std::sync::Mutex::new(None);
    let mut kept = KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    kept.get_or_insert_with(HashMap::new)
        .entry((traced, field.0, field.1))
        .or_insert_with(|| Box::leak(bytes.into_boxed_slice()))
}

/// The postcard bytes of field `index` of a struct of that serde name in a real value of the
/// traced type, when there is one (see `find::field_bytes`).
pub(super) type RealField<'a> = &'a dyn Fn(&str, usize) -> Option<Vec<u8>>;

/// Strings that common validating types accept: numbers and paths; RFC 3339 dates and times
/// (chrono, time); versions (semver). When a pass fails after a string was read, the visitor
/// that read it gets the next placeholder on the next pass.
const TEXTS: &[&str] = &[
    "1",
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00",
    "1970-01-01",
    "00:00:00",
    "1.0.0",
];

/// A traced type: its root, and the definitions of the named types in it, which
/// [`render`](super::text::render) writes as text.
pub(super) struct Traced {
    pub root: Ty,
    pub defs: HashMap<Id, Def>,
    /// The type holds a hash table somewhere, whose iteration order (so its `Debug` text and
    /// its bytes) differs from one copy of the same value to another.
    pub hashed: bool,
}

/// A type to trace, its type parameter left behind: its name and its `Deserialize`. The
/// tracing around that one call is then compiled once, here, not in every crate that saves a
/// state (issue 25).
#[derive(Clone, Copy)]
pub(super) struct Subject {
    pub name: &'static str,
    read: fn(Reader<'_>) -> Result<(), Untraceable>,
}

impl Subject {
    pub(super) fn of<T: DeserializeOwned>() -> Subject {
        Subject {
            name: type_name::<T>(),
            read: |reader| T::deserialize(reader).map(drop),
        }
    }
}

/// Traces `subject`, reading a field whose `Deserialize` refuses every placeholder from `real`
/// (recorded as opaque), so that the fields around it are traced.
pub(super) fn trace_with(subject: Subject, real: RealField<'_>) -> Result<Traced, Untraceable> {
    let _tracing = super::Tracing::enter();
    let mut tracer = Tracer::default();
    for _ in 0..MAX_PASSES {
        tracer.progress = false;
        tracer.retry = false;
        tracer.last_text = None;
        tracer.refused = None;
        tracer.depth = 0;
        tracer.path.clear();
        let mut root = Ty::Unknown;
        let read = (subject.read)(Reader {
            tracer: &mut tracer,
            out: &mut root,
            cut: false,
        });
        match read {
            Ok(_) if tracer.defs.values().any(Def::has_unread_variant) => {
                if !tracer.progress {
                    return Err(Untraceable::new("some enum variants cannot be reached"));
                }
            }
            Ok(_) => {
                let defs = std::mem::take(&mut tracer.defs);
                let hashed = tracer.hashed;
                return Ok(Traced { root, defs, hashed });
            }
            Err(_) if tracer.retry => {}
            Err(_) if tracer.next_text() => {}
            Err(err) => {
                let Some((container, index)) = tracer.refused.take() else {
                    return Err(err);
                };
                let bytes = match tracer.real.contains_key(&(container, index)) {
                    false => real(container, index),
                    true => None,
                };
                match bytes {
                    Some(bytes) => {
                        let bytes = kept(subject.name, (container, index), bytes);
                        tracer.real.insert((container, index), bytes);
                        tracer.texts.clear();
                    }
                    None => return Err(err),
                }
            }
        }
    }
    Err(Untraceable::new(format!(
        "not traced in {MAX_PASSES} passes"
    )))
}

impl Tracer {
    /// A sequence or map of type `built` is read.
    fn collection(&mut self, built: &str) {
        const HASHED: [&str; 4] = [
            "std::collections::hash::",
            "hashbrown::",
            "ahash::",
            "dashmap::",
        ];
        self.hashed |= HASHED.iter().any(|module| built.contains(module));
    }

    fn reading(&self, id: Id) -> bool {
        self.path.iter().any(|&(on_path, _)| on_path == id)
    }

    fn text(&mut self, visitor: &'static str) -> &'static str {
        self.last_text = Some(visitor);
        TEXTS[self.texts.get(visitor).copied().unwrap_or(0)]
    }

    /// Gives the visitor that read the last string its next placeholder, if it has one.
    fn next_text(&mut self) -> bool {
        let Some(visitor) = self.last_text else {
            return false;
        };
        let choice = self.texts.entry(visitor).or_default();
        *choice += 1;
        *choice < TEXTS.len()
    }

    /// Runs `read` one level deeper, inside container `frame` if given.
    fn nest<R>(
        &mut self,
        frame: Option<(Id, usize)>,
        read: impl FnOnce(&mut Tracer) -> Result<R, Untraceable>,
    ) -> Result<R, Untraceable> {
        if self.depth == MAX_DEPTH {
            return Err(self.too_deep());
        }
        self.depth += 1;
        self.path.extend(frame);
        let result = read(self);
        if frame.is_some() {
            self.path.pop();
        }
        self.depth -= 1;
        result
    }

    /// Usually an enum read in cut mode whose variant recurses again: of those with a variant
    /// left to try, the one met most often on the way down (the innermost of those) tries its
    /// next variant on the next pass.
    fn too_deep(&mut self) -> Untraceable {
        let mut counts: Vec<(Id, usize)> = Vec::new();
        for &(id, variants) in self.path.iter().rev() {
            if self.skip_base.get(id).copied().unwrap_or(0) + 1 < variants {
                match counts.iter_mut().find(|(seen, _)| *seen == id) {
                    Some((_, count)) => *count += 1,
                    None => counts.push((id, 1)),
                }
            }
        }
        let most = counts.iter().map(|&(_, count)| count).max();
        if let Some(&(id, _)) = counts.iter().find(|&&(_, count)| Some(count) == most) {
            *self.skip_base.entry(id).or_default() += 1;
            self.retry = true;
        }
        Untraceable::new(format!("it nests deeper than {MAX_DEPTH} levels"))
    }

    fn record_struct(&mut self, id: Id, name: &'static str, body: Body) -> Result<(), Untraceable> {
        match self.defs.get(id) {
            None => {
                self.defs.insert(id, Def::Struct { name, body });
                self.progress = true;
                Ok(())
            }
            Some(Def::Struct { body: known, .. }) if *known == body => Ok(()),
            Some(_) => Err(conflict(name)),
        }
    }

    /// The variant of an enum read in normal mode: one not read yet, else one that leads to an
    /// enum with variants not read yet, else the cut-mode choice.
    fn variant_to_read(
        &mut self,
        id: Id,
        name: &'static str,
        variants: &'static [&'static str],
    ) -> Result<u32, Untraceable> {
        self.defs.entry(id).or_insert_with(|| Def::Enum {
            name,
            variants,
            bodies: vec![None; variants.len()],
        });
        let Some(Def::Enum {
            variants: known,
            bodies,
            ..
        }) = self.defs.get(id)
        else {
            return Err(conflict(name));
        };
        if *known != variants {
            return Err(conflict(name));
        }
        if let Some(unread) = bodies.iter().position(Option::is_none) {
            return Ok(unread as u32);
        }
        let leads_on = bodies.iter().position(|body| {
            let mut refs = Vec::new();
            body.as_ref().expect("all read").refs(&mut refs);
            self.reaches_unread(refs)
        });
        match leads_on {
            Some(index) => Ok(index as u32),
            None => self.base_variant(id, variants.len()),
        }
    }

    /// Whether an enum with unread variants can be reached from `start` without going through
    /// a container being read (which would be read in cut mode there).
    fn reaches_unread(&self, start: Vec<&Id>) -> bool {
        let mut seen = HashSet::new();
        let mut todo = start;
        while let Some(&id) = todo.pop() {
            if self.reading(id) || !seen.insert(id) {
                continue;
            }
            match self.defs.get(id) {
                Some(def) if def.has_unread_variant() => return true,
                Some(def) => todo.extend(def.refs()),
                None => return true,
            }
        }
        false
    }

    /// The variant of an enum read in cut mode: variants known not to name a container
    /// outside `Option`, sequences and maps first, then the others in order, less the ones
    /// that nested too deep on earlier passes.
    fn base_variant(&self, id: Id, count: usize) -> Result<u32, Untraceable> {
        let bodies: &[Option<Body>] = match self.defs.get(id) {
            Some(Def::Enum { bodies, .. }) => bodies,
            _ => &[],
        };
        let flat = |index: &usize| {
            bodies
                .get(*index)
                .and_then(Option::as_ref)
                .is_some_and(|body| body.types().iter().all(|ty| ty.is_flat()))
        };
        let skip = self.skip_base.get(id).copied().unwrap_or(0);
        (0..count)
            .filter(flat)
            .chain((0..count).filter(|index| !flat(index)))
            .nth(skip)
            .map(|index| index as u32)
            .ok_or_else(|| Untraceable::new("it recurses without end"))
    }

    fn record_variant(
        &mut self,
        id: Id,
        name: &str,
        index: usize,
        body: Body,
    ) -> Result<(), Untraceable> {
        let Some(Def::Enum { bodies, .. }) = self.defs.get_mut(id) else {
            return Err(conflict(name));
        };
        match &bodies[index] {
            None => {
                bodies[index] = Some(body);
                self.progress = true;
                Ok(())
            }
            Some(known) if *known == body => Ok(()),
            Some(_) => Err(conflict(name)),
        }
    }
}

#[cfg(test)]
#[allow(dead_code)] // the test types are only ever traced, never read
mod tests {
    use std::time::Instant;

    use crate::format::shape::shape_of;
    use crate::format::shape::tests::{change, identical, traced, untraceable, versions};

    versions!(variant_added {
        #[derive(Deserialize)] pub enum Phase { Idle, Busy(u32), Done { at: u64 } }
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub phases: Vec<Option<Phase>> }
    } => {
        #[derive(Deserialize)] pub enum Phase { Idle, Busy(u32), Done { at: u64 }, Failed(String) }
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub phases: Vec<Option<Phase>> }
    });

    #[test]
    fn every_variant_of_a_nested_enum_is_recorded() {
        assert_eq!(
            traced::<variant_added::after::Stats>(),
            "root: Stats\n\
             enum Phase { Idle, Busy(u32), Done { at: u64 }, Failed(str) }\n\
             struct Stats { total: u64, phases: [Option<Phase>] }"
        );
        assert_eq!(
            change::<variant_added::before::Stats, variant_added::after::Stats>().as_deref(),
            Some("variant `Failed` added to `Phase`")
        );
    }

    versions!(generic {
        #[derive(Deserialize)] pub struct Pair<T> { pub left: T, pub right: T }
        pub mod other {
            #[derive(serde::Deserialize)] pub struct Pair { pub only: bool }
        }
        #[derive(Deserialize)]
        pub struct Stats { pub a: Pair<u8>, pub b: Pair<String>, pub c: other::Pair, pub d: Pair<u8> }
    } => {});

    #[test]
    fn namesakes_and_generic_instances_are_told_apart() {
        assert_eq!(
            traced::<generic::before::Stats>(),
            "root: Stats\n\
             struct Pair#1 { left: u8, right: u8 }\n\
             struct Pair#2 { left: str, right: str }\n\
             struct Pair#3 { only: bool }\n\
             struct Stats { a: Pair#1, b: Pair#2, c: Pair#3, d: Pair#1 }"
        );
    }

    versions!(recursive {
        #[derive(Deserialize)]
        pub enum Expr { Add(Box<Expr>, Box<Expr>), Neg(Box<Expr>), Lit(f64) }
        #[derive(Deserialize)]
        pub struct Tree { pub label: String, pub children: Vec<Tree>, pub parent: Option<Box<Tree>> }
        #[derive(Deserialize)] pub enum Even { Zero, Next(Box<Odd>) }
        #[derive(Deserialize)] pub enum Odd { Next(Box<Even>) }
        #[derive(Deserialize)]
        pub struct State { pub expr: Expr, pub tree: Tree, pub even: Even }
    } => {
        #[derive(Deserialize)]
        pub enum Expr { Add(Box<Expr>, Box<Expr>), Neg(Box<Expr>), Lit(f64), Var(u32) }
        #[derive(Deserialize)]
        pub struct Tree { pub label: String, pub children: Vec<Tree>, pub parent: Option<Box<Tree>> }
        #[derive(Deserialize)] pub enum Even { Zero, Next(Box<Odd>) }
        #[derive(Deserialize)] pub enum Odd { Next(Box<Even>) }
        #[derive(Deserialize)]
        pub struct State { pub expr: Expr, pub tree: Tree, pub even: Even }
    });

    #[test]
    fn recursive_types_are_traced() {
        // `Expr`'s first variant recurses: serde-reflection overflows the stack on it.
        assert_eq!(
            traced::<recursive::before::State>(),
            "root: State\n\
             enum Even { Zero, Next(Odd) }\n\
             enum Expr { Add(Expr, Expr), Neg(Expr), Lit(f64) }\n\
             enum Odd { Next(Even) }\n\
             struct State { expr: Expr, tree: Tree, even: Even }\n\
             struct Tree { label: str, children: [Tree], parent: Option<Tree> }"
        );
        assert_eq!(
            change::<recursive::before::State, recursive::after::State>().as_deref(),
            Some("variant `Var` added to `Expr`")
        );
    }

    mod mutual {
        use serde::Deserialize;
        // `B` always recurses: only `A::Y` ends the recursion.
        #[derive(Deserialize)]
        pub enum A {
            X(Box<B>),
            Y,
        }
        #[derive(Deserialize)]
        pub enum B {
            P(Box<A>),
        }
        /// A string that must look like a date, and one that must look like a version.
        #[derive(Deserialize)]
        #[serde(try_from = "String")]
        pub struct Date(pub String);
        impl TryFrom<String> for Date {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                match text.len() == 20 && text.ends_with('Z') {
                    true => Ok(Date(text)),
                    false => Err(format!("{text} is not a date")),
                }
            }
        }
        #[derive(Deserialize)]
        pub struct Stamped {
            pub at: Date,
            pub path: std::path::PathBuf,
            pub a: A,
        }
    }

    #[test]
    fn the_variant_that_ends_a_recursion_is_found() {
        assert_eq!(
            traced::<mutual::A>(),
            "root: A\nenum A { X(B), Y }\nenum B { P(A) }"
        );
    }

    #[test]
    fn strings_that_must_be_dates_are_traced() {
        // `try_from = "String"` reads a plain string: no container of its own.
        assert_eq!(
            traced::<mutual::Stamped>(),
            "root: Stamped\nenum A { X(B), Y }\nenum B { P(A) }\n\
             struct Stamped { at: str, path: str, a: A }"
        );
    }

    #[test]
    fn validating_std_types_pass_with_the_placeholders() {
        assert_eq!(traced::<std::num::NonZeroU32>(), "root: u32");
        assert_eq!(traced::<std::path::PathBuf>(), "root: str");
        assert_eq!(
            traced::<std::net::IpAddr>(),
            "root: IpAddr\nenum IpAddr { V4((u8, u8, u8, u8)), V6([u8; 16]) }"
        );
    }

    #[test]
    fn tracing_stays_within_a_small_stack() {
        // Recursion and the depth limit: a 256 KiB stack is plenty (threads get 2 MiB).
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                traced::<recursive::before::State>();
                shape_of::<untraceable::Endless>();
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn tracing_a_moderately_complex_type_is_quick() {
        use identical::before::Everything;
        traced::<Everything>();
        traced::<recursive::before::State>();
        let start = Instant::now();
        for _ in 0..100 {
            shape_of::<Everything>();
            shape_of::<recursive::before::State>();
        }
        let each = start.elapsed() / 200;
        eprintln!("shape_of: {each:?} per type");
        assert!(each.as_millis() < 50, "{each:?}");
    }
}

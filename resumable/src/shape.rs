//! The structure of a state type as its serde impls describe it, recorded in each checkpoint.
//!
//! postcard is not self-describing: a checkpoint of `struct Stats { total: u64, count: u64 }`
//! decodes "successfully" into a build whose `Stats` has the two fields the other way round,
//! and [`std::any::type_name`] does not change when fields do. So each checkpoint records the
//! structure of its state, and a checkpoint whose structure differs is refused with a message
//! that says what changed ([`describe_change`]).
//!
//! # Tracing
//!
//! [`shape_of`] deserializes a `T` from a [`Reader`]: a deserializer that reads no bytes, answers
//! every request with a placeholder (`1`, `"1"`, one element per sequence, `Some`; a string
//! that a type rejects is tried again as a date, a time or a version), and records
//! what it was asked, the way postcard reads: a struct is its fields in order, an enum a variant
//! index, then that variant's content. A value must be built, and an enum can build only one
//! variant at a time, so `T` is read again until every variant of every enum in it was read
//! once. Where a type recurses into itself (`enum Expr { Add(Box<Expr>, Box<Expr>), Lit(f64) }`,
//! `struct Tree { children: Vec<Tree> }`), the inner copy is read in "cut" mode, which records
//! nothing and ends the recursion: `None`, empty sequences and maps, and a variant of each enum
//! that does not recurse (found by trying them in turn when one nests too deep). Nesting is
//! limited to [`MAX_DEPTH`], so no type can overflow the stack.
//!
//! Containers are told apart by the `type_name` of the value their visitor builds, so two
//! instances of one generic struct, or namesakes from two modules, are two containers.
//!
//! A type cannot be traced when its `Deserialize` asks for what postcard cannot read either
//! (`deserialize_any`: untagged or internally tagged enums, `#[serde(flatten)]`), rejects every
//! placeholder (a string that must be a URL), or panics (the panic message is printed, as for
//! any panic); its shape is then its type name only.
//!
//! # Text
//!
//! One line for the root type, then one per container, sorted by name:
//!
//! ```text
//! root: Stats
//! struct Bucket { lo: f64, hi: f64 }
//! struct Id(u64)
//! enum Phase { Idle, Busy(u32), Done { at: u64 } }
//! struct Stats { total: u64, buckets: [Bucket], phase: Option<Phase>, id: Id }
//! ```
//!
//! Types: `bool`, `u8`…`u128` (`usize` is `u64`), `i8`…`i128`, `f32`, `f64`, `char`, `str`,
//! `bytes`, `()`, `(A, B)`, `[T]` (any sequence: `Vec`, `VecDeque`, sets), `[T; N]` (a tuple of
//! more than 4 equal elements: an array), `Option<T>`, `Map<K, V>` (any map), and container
//! names. `Box`, `Rc`, `Arc` and `#[serde(transparent)]` are what they hold. Container, field and
//! variant names are serde's (after `#[serde(rename)]`), with every character but ASCII letters,
//! digits and `_` written `%XX`; two containers of one name are `Name#1`, `Name#2`, numbered
//! in the order they first appear from the root (breadth first). A struct is `struct Name`
//! (unit), `struct Name(T, U)` (tuple or newtype) or `struct Name { a: T }`; an enum lists its
//! variants in index order, each written like a struct's body.
//!
//! When the type cannot be traced: `untraced: <type_name>`. When the text would be longer than
//! [`MAX_SHAPE_LEN`]: `large <16 hex digits of its hash> <type_name>`, which still detects
//! any change but cannot say which.

use std::any::type_name;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Visitor};

/// The longest text [`shape_of`] returns: the checkpoint's metadata record, which holds the
/// shapes of all state bindings, is at most 64 KiB. A shape this long has about 50 containers.
pub(crate) const MAX_SHAPE_LEN: usize = 4096;

/// How deep the tracer nests before it gives up (or, inside a recursion, tries another
/// variant). State types nest a few levels.
const MAX_DEPTH: usize = 64;

/// How many times the tracer reads the type at most: one read per enum variant is typical.
const MAX_PASSES: usize = 4096;

const UNTRACED: &str = "untraced: ";
const LARGE: &str = "large ";

/// The structure of `T` as its serde impls describe it, as canonical deterministic text
/// (the same for the same type on every build/platform), or, when it cannot be traced,
/// a text that says so and holds only `std::any::type_name::<T>()`.
pub(crate) fn shape_of<T: DeserializeOwned>() -> String {
    shape_with_limit::<T>(MAX_SHAPE_LEN)
}

fn shape_with_limit<T: DeserializeOwned>(limit: usize) -> String {
    // A `Deserialize` impl may panic on a placeholder: that is "cannot be traced", not a crash.
    let traced = std::panic::catch_unwind(trace::<T>);
    match traced {
        Ok(Ok(text)) if text.len() <= limit => text,
        Ok(Ok(text)) => format!(
            "{LARGE}{:016x} {}",
            crate::envelope::fingerprint("", &text),
            type_name::<T>()
        ),
        Ok(Err(_)) | Err(_) => format!("{UNTRACED}{}", type_name::<T>()),
    }
}

/// What changed between a saved shape and the current one, in words a user understands
/// (e.g. "field `min` added to `Stats`"); `None` if they are equal.
pub(crate) fn describe_change(saved: &str, current: &str) -> Option<String> {
    if saved == current {
        return None;
    }
    let changes = match (parse(saved), parse(current)) {
        (Some(Parsed::Traced(saved)), Some(Parsed::Traced(current))) => diff(&saved, &current),
        (Some(Parsed::Large { type_name: a, .. }), Some(Parsed::Large { type_name: b, .. }))
            if a == b =>
        {
            vec![format!(
                "the structure of `{a}` changed (it is too large to say how)"
            )]
        }
        (Some(saved), Some(current)) => vec![format!(
            "its type changed from {} to {}",
            saved.summary(),
            current.summary()
        )],
        _ => Vec::new(),
    };
    Some(join(changes))
}

// ---------------------------------------------------------------------------------------------
// Tracing

/// Tells containers apart within one process: the `type_name` of what their visitor builds.
type Id = &'static str;

/// A type, as far as it was read.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    /// Not read (yet).
    Unknown,
    Prim(&'static str),
    Option(Box<Ty>),
    Seq(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Tuple(Vec<Ty>),
    /// A struct or enum, described in the tracer's `defs`.
    Ref(Id),
}

impl Ty {
    /// Whether it names no container outside `Option`, sequences and maps (which cut mode
    /// leaves empty), so that reading it in cut mode cannot recurse.
    fn is_flat(&self) -> bool {
        match self {
            Ty::Prim(_) | Ty::Option(_) | Ty::Seq(_) | Ty::Map(..) => true,
            Ty::Tuple(items) => items.iter().all(Ty::is_flat),
            Ty::Unknown | Ty::Ref(_) => false,
        }
    }

    fn refs<'a>(&'a self, found: &mut Vec<&'a Id>) {
        match self {
            Ty::Unknown | Ty::Prim(_) => {}
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
enum Body {
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
enum Def {
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
    fn name(&self) -> &'static str {
        match self {
            Def::Struct { name, .. } | Def::Enum { name, .. } => name,
        }
    }

    fn refs(&self) -> Vec<&Id> {
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
struct Untraceable(String);

impl fmt::Display for Untraceable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Untraceable {}

impl de::Error for Untraceable {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Untraceable(msg.to_string())
    }
}

fn unsupported(what: &str) -> Untraceable {
    Untraceable(format!(
        "its Deserialize calls {what}, which postcard does not support"
    ))
}

fn conflict(name: &str) -> Untraceable {
    Untraceable(format!(
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
}

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

/// Traces `T` and renders its text.
fn trace<T: DeserializeOwned>() -> Result<String, Untraceable> {
    let mut tracer = Tracer::default();
    for _ in 0..MAX_PASSES {
        tracer.progress = false;
        tracer.retry = false;
        tracer.last_text = None;
        tracer.depth = 0;
        tracer.path.clear();
        let mut root = Ty::Unknown;
        let read = T::deserialize(Reader {
            tracer: &mut tracer,
            out: &mut root,
            cut: false,
        });
        match read {
            Ok(_) if tracer.defs.values().any(Def::has_unread_variant) => {
                if !tracer.progress {
                    return Err(Untraceable("some enum variants cannot be reached".into()));
                }
            }
            Ok(_) => return render(&root, &tracer.defs),
            Err(_) if tracer.retry => {}
            Err(_) if tracer.next_text() => {}
            Err(err) => return Err(err),
        }
    }
    Err(Untraceable(format!("not traced in {MAX_PASSES} passes")))
}

impl Tracer {
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
        Untraceable(format!("it nests deeper than {MAX_DEPTH} levels"))
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
            .ok_or_else(|| Untraceable("it recurses without end".into()))
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

/// A deserializer that reads nothing and records what it is asked for into `out`. In cut mode
/// it records nothing that lasts and ends every recursion it can.
struct Reader<'a> {
    tracer: &'a mut Tracer,
    out: &'a mut Ty,
    cut: bool,
}

macro_rules! primitives {
    ($($method:ident => $visit:ident($value:expr), $name:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Untraceable> {
            *self.out = Ty::Prim($name);
            visitor.$visit($value)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Reader<'_> {
    type Error = Untraceable;

    // Placeholders that pass common checks: `NonZero*` rejects 0.
    primitives! {
        deserialize_bool => visit_bool(false), "bool";
        deserialize_i8 => visit_i8(1), "i8";
        deserialize_i16 => visit_i16(1), "i16";
        deserialize_i32 => visit_i32(1), "i32";
        deserialize_i64 => visit_i64(1), "i64";
        deserialize_i128 => visit_i128(1), "i128";
        deserialize_u8 => visit_u8(1), "u8";
        deserialize_u16 => visit_u16(1), "u16";
        deserialize_u32 => visit_u32(1), "u32";
        deserialize_u64 => visit_u64(1), "u64";
        deserialize_u128 => visit_u128(1), "u128";
        deserialize_f32 => visit_f32(1.0), "f32";
        deserialize_f64 => visit_f64(1.0), "f64";
        deserialize_char => visit_char('1'), "char";
        // 16 bytes: a `Uuid`.
        deserialize_bytes => visit_bytes(&[1; 16]), "bytes";
        deserialize_byte_buf => visit_bytes(&[1; 16]), "bytes";
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Untraceable> {
        *self.out = Ty::Prim("str");
        visitor.visit_str(self.tracer.text(type_name::<V>()))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Untraceable> {
        self.deserialize_str(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Untraceable> {
        *self.out = Ty::Prim("()");
        visitor.visit_unit()
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Untraceable> {
        Err(unsupported("deserialize_any"))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Untraceable> {
        Err(unsupported("deserialize_identifier"))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Untraceable> {
        Err(unsupported("deserialize_ignored_any"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Untraceable> {
        let Reader { tracer, out, cut } = self;
        if cut {
            return visitor.visit_none();
        }
        let mut inner = Ty::Unknown;
        let value = tracer.nest(None, |tracer| {
            visitor.visit_some(Reader {
                tracer,
                out: &mut inner,
                cut,
            })
        })?;
        *out = Ty::Option(Box::new(inner));
        Ok(value)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Untraceable> {
        let Reader { tracer, out, cut } = self;
        let mut item = Ty::Unknown;
        let items: &mut [Ty] = if cut {
            &mut []
        } else {
            std::slice::from_mut(&mut item)
        };
        let value = tracer.nest(None, |tracer| {
            visitor.visit_seq(Items::new(tracer, items, cut))
        })?;
        *out = Ty::Seq(Box::new(item));
        Ok(value)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Untraceable> {
        let Reader { tracer, out, cut } = self;
        let mut entry = [Ty::Unknown, Ty::Unknown];
        let slots: &mut [Ty] = if cut { &mut [] } else { &mut entry };
        let value = tracer.nest(None, |tracer| {
            visitor.visit_map(Items::new(tracer, slots, cut))
        })?;
        let [key, item] = entry;
        *out = Ty::Map(Box::new(key), Box::new(item));
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Untraceable> {
        let Reader { tracer, out, cut } = self;
        let mut items = vec![Ty::Unknown; len];
        let value = tracer.nest(None, |tracer| {
            visitor.visit_seq(Items::new(tracer, &mut items, cut))
        })?;
        *out = Ty::Tuple(items);
        Ok(value)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Untraceable> {
        let id = type_name::<V::Value>();
        *self.out = Ty::Ref(id);
        if !self.cut {
            self.tracer.record_struct(id, name, Body::Unit)?;
        }
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Untraceable> {
        let read = |mut items: Items<'_>| visitor.visit_newtype_struct(items.reader().unwrap());
        self.read_struct(type_name::<V::Value>(), name, 1, read, Body::Tuple)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Untraceable> {
        let read = |items: Items<'_>| visitor.visit_seq(items);
        self.read_struct(type_name::<V::Value>(), name, len, read, Body::Tuple)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Untraceable> {
        let read = |items: Items<'_>| visitor.visit_seq(items);
        let body = |items: Vec<Ty>| Body::Struct(fields.iter().copied().zip(items).collect());
        self.read_struct(type_name::<V::Value>(), name, fields.len(), read, body)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Untraceable> {
        let id = type_name::<V::Value>();
        let Reader { tracer, out, cut } = self;
        *out = Ty::Ref(id);
        if variants.is_empty() {
            return Err(Untraceable(format!("enum `{name}` has no variants")));
        }
        let cut = cut || tracer.reading(id);
        let index = if cut {
            tracer.base_variant(id, variants.len())?
        } else {
            tracer.variant_to_read(id, name, variants)?
        };
        let mut body = None;
        let frame = (id, if cut { variants.len() } else { 0 });
        let value = tracer.nest(Some(frame), |tracer| {
            visitor.visit_enum(Variant {
                tracer,
                index,
                out: &mut body,
                cut,
            })
        })?;
        if !cut {
            let body = body.ok_or_else(|| Untraceable(format!("`{name}` read no variant")))?;
            tracer.record_variant(id, name, index as usize, body)?;
        }
        Ok(value)
    }

    fn is_human_readable(&self) -> bool {
        false // as postcard
    }
}

impl Reader<'_> {
    /// Reads the `len` members of struct `id` with `read`, and records them with `body`.
    fn read_struct<R>(
        self,
        id: Id,
        name: &'static str,
        len: usize,
        read: impl FnOnce(Items<'_>) -> Result<R, Untraceable>,
        body: impl FnOnce(Vec<Ty>) -> Body,
    ) -> Result<R, Untraceable> {
        let Reader { tracer, out, cut } = self;
        *out = Ty::Ref(id);
        let cut = cut || tracer.reading(id);
        let mut items = vec![Ty::Unknown; len];
        let value = tracer.nest(Some((id, 0)), |tracer| {
            read(Items::new(tracer, &mut items, cut))
        })?;
        if !cut {
            tracer.record_struct(id, name, body(items))?;
        }
        Ok(value)
    }
}

/// The elements of a sequence, tuple or struct, or the keys and values of a map.
struct Items<'a> {
    tracer: &'a mut Tracer,
    slots: std::slice::IterMut<'a, Ty>,
    cut: bool,
}

impl<'a> Items<'a> {
    fn new(tracer: &'a mut Tracer, slots: &'a mut [Ty], cut: bool) -> Self {
        Items {
            tracer,
            slots: slots.iter_mut(),
            cut,
        }
    }

    /// A reader for the next member, if there is one.
    fn reader(&mut self) -> Option<Reader<'_>> {
        Some(Reader {
            out: self.slots.next()?,
            tracer: &mut *self.tracer,
            cut: self.cut,
        })
    }

    fn next<'de, S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Untraceable> {
        self.reader()
            .map(|reader| seed.deserialize(reader))
            .transpose()
    }
}

impl<'de> de::SeqAccess<'de> for Items<'_> {
    type Error = Untraceable;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Untraceable> {
        self.next(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.slots.len())
    }
}

impl<'de> de::MapAccess<'de> for Items<'_> {
    type Error = Untraceable;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Untraceable> {
        self.next(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Untraceable> {
        self.next(seed)?
            .ok_or_else(|| Untraceable("a map value was read without its key".into()))
    }
}

/// The variant an enum reads: `index`, as postcard gives it.
struct Variant<'a> {
    tracer: &'a mut Tracer,
    index: u32,
    out: &'a mut Option<Body>,
    cut: bool,
}

impl<'de> de::EnumAccess<'de> for Variant<'_> {
    type Error = Untraceable;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self), Untraceable> {
        let index = de::value::U32Deserializer::<Untraceable>::new(self.index);
        Ok((seed.deserialize(index)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_> {
    type Error = Untraceable;

    fn unit_variant(self) -> Result<(), Untraceable> {
        *self.out = Some(Body::Unit);
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, Untraceable> {
        let mut inner = Ty::Unknown;
        let value = seed.deserialize(Reader {
            tracer: self.tracer,
            out: &mut inner,
            cut: self.cut,
        })?;
        *self.out = Some(Body::Tuple(vec![inner]));
        Ok(value)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Untraceable> {
        let mut items = vec![Ty::Unknown; len];
        let value = visitor.visit_seq(Items::new(self.tracer, &mut items, self.cut))?;
        *self.out = Some(Body::Tuple(items));
        Ok(value)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Untraceable> {
        let mut items = vec![Ty::Unknown; fields.len()];
        let value = visitor.visit_seq(Items::new(self.tracer, &mut items, self.cut))?;
        *self.out = Some(Body::Struct(fields.iter().copied().zip(items).collect()));
        Ok(value)
    }
}

// ---------------------------------------------------------------------------------------------
// Text

const PRIMITIVES: &[&str] = &[
    "bool", "i8", "i16", "i32", "i64", "i128", "u8", "u16", "u32", "u64", "u128", "f32", "f64",
    "char", "str", "bytes",
];

/// A tuple of more than this many equal elements is written as an array, `[T; N]`.
const TUPLE_AS_ARRAY_OVER: usize = 4;

fn render(root: &Ty, defs: &HashMap<Id, Def>) -> Result<String, Untraceable> {
    // The containers reachable from the root, breadth first.
    let mut order: Vec<Id> = Vec::new();
    let mut queue: VecDeque<&Id> = VecDeque::new();
    let mut refs = Vec::new();
    root.refs(&mut refs);
    queue.extend(refs);
    while let Some(&id) = queue.pop_front() {
        if order.contains(&id) {
            continue;
        }
        let def = defs
            .get(id)
            .ok_or_else(|| Untraceable(format!("`{id}` was never read")))?;
        order.push(id);
        queue.extend(def.refs());
    }

    let mut count: HashMap<String, usize> = HashMap::new();
    for id in &order {
        *count.entry(escape(defs[id].name())).or_default() += 1;
    }
    let mut numbered: HashMap<String, usize> = HashMap::new();
    let mut names: HashMap<Id, String> = HashMap::new();
    for &id in &order {
        let base = escape(defs[id].name());
        let name = if count[&base] == 1 && !PRIMITIVES.contains(&base.as_str()) {
            base
        } else {
            let number = numbered.entry(base.clone()).or_default();
            *number += 1;
            format!("{base}#{number}")
        };
        names.insert(id, name);
    }

    let mut lines = BTreeMap::new();
    for &id in &order {
        let name = &names[id];
        let line = match &defs[id] {
            Def::Struct { body, .. } => format!("struct {name}{}", render_body(body, &names)?),
            Def::Enum {
                variants, bodies, ..
            } => {
                let mut rendered = Vec::new();
                for (variant, body) in variants.iter().zip(bodies) {
                    let body = body
                        .as_ref()
                        .ok_or_else(|| Untraceable(format!("`{name}::{variant}` not read")))?;
                    rendered.push(format!("{}{}", escape(variant), render_body(body, &names)?));
                }
                format!("enum {name} {{ {} }}", rendered.join(", "))
            }
        };
        lines.insert(name.as_str(), line);
    }
    let mut text = format!("root: {}", render_ty(root, &names)?);
    for line in lines.values() {
        text.push('\n');
        text.push_str(line);
    }
    Ok(text)
}

fn render_body(body: &Body, names: &HashMap<Id, String>) -> Result<String, Untraceable> {
    Ok(match body {
        Body::Unit => String::new(),
        Body::Tuple(items) => format!("({})", render_list(items.iter(), names)?),
        Body::Struct(fields) if fields.is_empty() => " {}".into(),
        Body::Struct(fields) => {
            let mut rendered = Vec::new();
            for (field, ty) in fields {
                rendered.push(format!("{}: {}", escape(field), render_ty(ty, names)?));
            }
            format!(" {{ {} }}", rendered.join(", "))
        }
    })
}

fn render_list<'a>(
    items: impl Iterator<Item = &'a Ty>,
    names: &HashMap<Id, String>,
) -> Result<String, Untraceable> {
    let rendered: Result<Vec<String>, Untraceable> =
        items.map(|item| render_ty(item, names)).collect();
    Ok(rendered?.join(", "))
}

fn render_ty(ty: &Ty, names: &HashMap<Id, String>) -> Result<String, Untraceable> {
    Ok(match ty {
        Ty::Unknown => return Err(Untraceable("a part of it was never read".into())),
        Ty::Prim(name) => (*name).into(),
        Ty::Option(inner) => format!("Option<{}>", render_ty(inner, names)?),
        Ty::Seq(item) => format!("[{}]", render_ty(item, names)?),
        Ty::Map(key, value) => format!(
            "Map<{}, {}>",
            render_ty(key, names)?,
            render_ty(value, names)?
        ),
        Ty::Tuple(items)
            if items.len() > TUPLE_AS_ARRAY_OVER && items.iter().all(|item| *item == items[0]) =>
        {
            format!("[{}; {}]", render_ty(&items[0], names)?, items.len())
        }
        Ty::Tuple(items) => format!("({})", render_list(items.iter(), names)?),
        Ty::Ref(id) => names[id].clone(),
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `a-b` becomes `a%2Db`: names in the text hold only letters, digits, `_`, and `%XX`.
fn escape(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for c in name.chars() {
        if is_name_char(c) {
            escaped.push(c);
        } else {
            for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                escaped.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    escaped
}

/// The inverse of [`escape`], over any text of the format (`%` appears only in escapes).
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok());
        match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
            Some(byte) if bytes[i] == b'%' => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Comparing

enum Parsed<'a> {
    Traced(Model<'a>),
    Untraced(&'a str),
    Large { type_name: &'a str },
}

impl Parsed<'_> {
    fn summary(&self) -> String {
        match self {
            Parsed::Traced(model) => unescape(model.root),
            Parsed::Untraced(type_name) | Parsed::Large { type_name } => format!("`{type_name}`"),
        }
    }
}

/// A traced shape, as text slices.
struct Model<'a> {
    root: &'a str,
    defs: BTreeMap<&'a str, PDef<'a>>,
}

enum PDef<'a> {
    Struct(PBody<'a>),
    Enum(Vec<(&'a str, PBody<'a>)>),
}

#[derive(PartialEq)]
enum PBody<'a> {
    Unit,
    Tuple(Vec<&'a str>),
    Struct(Vec<(&'a str, &'a str)>),
}

impl<'a> PBody<'a> {
    fn types(&self) -> Vec<&'a str> {
        match self {
            PBody::Unit => Vec::new(),
            PBody::Tuple(items) => items.clone(),
            PBody::Struct(fields) => fields.iter().map(|&(_, ty)| ty).collect(),
        }
    }

    fn show(&self, label: &str) -> String {
        match self {
            PBody::Unit => label.into(),
            PBody::Tuple(items) => format!("{label}({})", unescape(&items.join(", "))),
            PBody::Struct(fields) if fields.is_empty() => format!("{label} {{}}"),
            PBody::Struct(fields) => {
                let fields: Vec<String> = fields.iter().map(|(f, t)| format!("{f}: {t}")).collect();
                format!("{label} {{ {} }}", unescape(&fields.join(", ")))
            }
        }
    }
}

fn parse(text: &str) -> Option<Parsed<'_>> {
    if let Some(type_name) = text.strip_prefix(UNTRACED) {
        return Some(Parsed::Untraced(type_name));
    }
    if let Some(rest) = text.strip_prefix(LARGE) {
        let (_hash, type_name) = rest.split_once(' ')?;
        return Some(Parsed::Large { type_name });
    }
    let mut lines = text.split('\n');
    let root = lines.next()?.strip_prefix("root: ")?;
    let mut defs = BTreeMap::new();
    for line in lines {
        let def = if let Some(rest) = line.strip_prefix("struct ") {
            let (name, body) = split_name(rest);
            (name, PDef::Struct(parse_body(body)?))
        } else {
            let (name, body) = split_name(line.strip_prefix("enum ")?);
            let inner = body.strip_prefix(" { ")?.strip_suffix(" }")?;
            let variants = split_top(inner)
                .into_iter()
                .map(|variant| {
                    let (name, body) = split_name(variant);
                    Some((name, parse_body(body)?))
                })
                .collect::<Option<_>>()?;
            (name, PDef::Enum(variants))
        };
        defs.insert(def.0, def.1);
    }
    Some(Parsed::Traced(Model { root, defs }))
}

fn split_name(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(is_name_char(c) || c == '%' || c == '#'))
        .unwrap_or(text.len());
    text.split_at(end)
}

fn parse_body(text: &str) -> Option<PBody<'_>> {
    if text.is_empty() {
        Some(PBody::Unit)
    } else if let Some(inner) = text.strip_prefix('(') {
        Some(PBody::Tuple(split_top(inner.strip_suffix(')')?)))
    } else if text == " {}" {
        Some(PBody::Struct(Vec::new()))
    } else {
        let inner = text.strip_prefix(" { ")?.strip_suffix(" }")?;
        let fields = split_top(inner).into_iter().map(|f| f.split_once(": "));
        Some(PBody::Struct(fields.collect::<Option<_>>()?))
    }
}

/// Splits `a, Map<b, c>, (d, e)` at its top-level commas.
fn split_top(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    if text.is_empty() {
        return parts;
    }
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts
}

/// The container names in a type's text: words that are not primitives, not `Option` or `Map`
/// before `<`, and not an array's length.
fn names_in(ty: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = ty;
    while let Some(start) = rest.find(|c: char| is_name_char(c) || c == '%') {
        let length = rest[..start].trim_end().ends_with(';');
        let (word, tail) = split_name(&rest[start..]);
        if !(PRIMITIVES.contains(&word) || tail.starts_with('<') || length) {
            found.push(word);
        }
        rest = tail;
    }
    found
}

fn diff(saved: &Model<'_>, current: &Model<'_>) -> Vec<String> {
    let mut changes = Vec::new();
    if saved.root != current.root {
        changes.push(format!(
            "its type changed from {} to {}",
            unescape(saved.root),
            unescape(current.root)
        ));
    }
    // The current containers from the root outwards, each compared with its namesake. One
    // only in the current shape is named by a type whose text changed, reported above it.
    let mut queue: VecDeque<&str> = names_in(current.root).into();
    let mut seen = HashSet::new();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name) {
            continue;
        }
        let Some(now) = current.defs.get(name) else {
            continue;
        };
        if let Some(was) = saved.defs.get(name) {
            compare_def(&unescape(name), was, now, &mut changes);
        }
        match now {
            PDef::Struct(body) => queue.extend(body.types().into_iter().flat_map(names_in)),
            PDef::Enum(variants) => {
                for (_, body) in variants {
                    queue.extend(body.types().into_iter().flat_map(names_in));
                }
            }
        }
    }
    changes
}

fn compare_def(name: &str, saved: &PDef<'_>, current: &PDef<'_>, changes: &mut Vec<String>) {
    match (saved, current) {
        (PDef::Struct(was), PDef::Struct(now)) => compare_body(name, was, now, changes),
        (PDef::Enum(was), PDef::Enum(now)) => compare_members(
            "variant",
            name,
            was,
            now,
            changes,
            |variant, was, now, changes| {
                compare_body(&format!("{name}::{variant}"), was, now, changes)
            },
        ),
        (PDef::Struct(_), PDef::Enum(_)) => {
            changes.push(format!("`{name}` changed from a struct to an enum"))
        }
        (PDef::Enum(_), PDef::Struct(_)) => {
            changes.push(format!("`{name}` changed from an enum to a struct"))
        }
    }
}

fn compare_body(label: &str, saved: &PBody<'_>, current: &PBody<'_>, changes: &mut Vec<String>) {
    match (saved, current) {
        (PBody::Unit, PBody::Unit) => {}
        (PBody::Struct(was), PBody::Struct(now)) => compare_members(
            "field",
            label,
            was,
            now,
            changes,
            |field, was, now, changes| {
                if was != now {
                    changes.push(format!(
                        "field `{field}` of `{label}` changed type from {} to {}",
                        unescape(was),
                        unescape(now)
                    ));
                }
            },
        ),
        (PBody::Tuple(was), PBody::Tuple(now)) if was.len() == now.len() && was.len() > 1 => {
            for (i, (was, now)) in was.iter().zip(now).enumerate() {
                if was != now {
                    changes.push(format!(
                        "element {i} of `{label}` changed type from {} to {}",
                        unescape(was),
                        unescape(now)
                    ));
                }
            }
        }
        _ if saved == current => {}
        _ => changes.push(format!(
            "`{label}` changed from {} to {}",
            saved.show(label),
            current.show(label)
        )),
    }
}

/// Compares the named members of a struct (fields) or an enum (variants): which were added,
/// removed, renamed (one removed and one added in its place, of the same type) or reordered,
/// then each kept one with `compare`.
fn compare_members<T: PartialEq>(
    kind: &str,
    owner: &str,
    saved: &[(&str, T)],
    current: &[(&str, T)],
    changes: &mut Vec<String>,
    compare: impl Fn(&str, &T, &T, &mut Vec<String>),
) {
    let names = |members: &[(&str, T)]| -> Vec<String> {
        members.iter().map(|(name, _)| unescape(name)).collect()
    };
    let (was, now) = (names(saved), names(current));
    let removed: Vec<usize> = (0..was.len()).filter(|&i| !now.contains(&was[i])).collect();
    let added: Vec<usize> = (0..now.len()).filter(|&i| !was.contains(&now[i])).collect();
    if let ([old], [new]) = (&removed[..], &added[..])
        && old == new
        && saved[*old].1 == current[*new].1
    {
        changes.push(format!(
            "{kind} `{}` of `{owner}` renamed to `{}`",
            was[*old], now[*new]
        ));
    } else {
        for &i in &removed {
            changes.push(format!("{kind} `{}` removed from `{owner}`", was[i]));
        }
        for &i in &added {
            changes.push(format!("{kind} `{}` added to `{owner}`", now[i]));
        }
    }
    let kept_was: Vec<&String> = was.iter().filter(|name| now.contains(name)).collect();
    let kept_now: Vec<&String> = now.iter().filter(|name| was.contains(name)).collect();
    if kept_was != kept_now {
        changes.push(format!(
            "{kind}s of `{owner}` reordered: was ({}), now ({})",
            was.join(", "),
            now.join(", ")
        ));
    }
    for (name, ty) in saved {
        if let Some((_, now_ty)) = current.iter().find(|(other, _)| other == name) {
            compare(&unescape(name), ty, now_ty, changes);
        }
    }
}

/// At most this many changes are listed; the rest are counted.
const MAX_LISTED: usize = 8;

fn join(mut changes: Vec<String>) -> String {
    if changes.is_empty() {
        return "the structure of its type changed".into();
    }
    if changes.len() > MAX_LISTED {
        let more = changes.len() - MAX_LISTED;
        changes.truncate(MAX_LISTED);
        changes.push(format!("and {more} more changes"));
    }
    changes.join("; ")
}

#[cfg(test)]
#[allow(dead_code)] // the test types are only ever traced, never read
mod tests {
    use super::*;
    use std::time::Instant;

    /// Two versions of the same types, as two builds of one program would have them: the same
    /// names (serde's; the module paths differ, which shapes do not record).
    macro_rules! versions {
        ($module:ident { $($before:tt)* } => { $($after:tt)* }) => {
            mod $module {
                pub mod before {
                    #[allow(unused_imports)]
                    use serde::Deserialize;
                    $($before)*
                }
                pub mod after {
                    #[allow(unused_imports)]
                    use serde::Deserialize;
                    $($after)*
                }
            }
        };
    }

    /// The change from `Before` to `After`, checking that texts differ exactly when a change is
    /// reported, and that each text is stable and parses.
    fn change<Before: DeserializeOwned, After: DeserializeOwned>() -> Option<String> {
        let (before, after) = (shape_of::<Before>(), shape_of::<After>());
        assert_eq!(before, shape_of::<Before>(), "not deterministic");
        assert!(parse(&before).is_some() && parse(&after).is_some());
        let change = describe_change(&before, &after);
        assert_eq!(change.is_none(), before == after, "{before}\n---\n{after}");
        change
    }

    fn traced<T: DeserializeOwned>() -> String {
        let text = shape_of::<T>();
        assert!(
            !text.starts_with(UNTRACED),
            "{:?}",
            trace::<T>().unwrap_err()
        );
        text
    }

    versions!(reordered {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64 }
    } => {
        #[derive(Deserialize)] pub struct Stats { pub count: u64, pub total: u64 }
    });

    #[test]
    fn reordered_fields_of_one_type_are_a_change() {
        assert_eq!(
            change::<reordered::before::Stats, reordered::after::Stats>().as_deref(),
            Some("fields of `Stats` reordered: was (total, count), now (count, total)")
        );
    }

    versions!(added {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64 }
    } => {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64, pub min: u64 }
    });

    #[test]
    fn added_and_removed_fields_are_named() {
        assert_eq!(
            change::<added::before::Stats, added::after::Stats>().as_deref(),
            Some("field `min` added to `Stats`")
        );
        assert_eq!(
            change::<added::after::Stats, added::before::Stats>().as_deref(),
            Some("field `min` removed from `Stats`")
        );
    }

    versions!(retyped {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64 }
    } => {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u32 }
    });

    #[test]
    fn retyped_field_says_from_what_to_what() {
        assert_eq!(
            change::<retyped::before::Stats, retyped::after::Stats>().as_deref(),
            Some("field `count` of `Stats` changed type from u64 to u32")
        );
    }

    versions!(renamed {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub count: u64 }
    } => {
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub n: u64 }
    });

    #[test]
    fn renamed_field_is_a_rename() {
        assert_eq!(
            change::<renamed::before::Stats, renamed::after::Stats>().as_deref(),
            Some("field `count` of `Stats` renamed to `n`")
        );
    }

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

    versions!(variants_changed {
        #[derive(Deserialize)] pub enum Phase { Idle, Busy(u32), Done { at: u64 } }
    } => {
        #[derive(Deserialize)] pub enum Phase { Busy(u64), Idle, Done { at: u64, by: String } }
    });

    #[test]
    fn reordered_and_changed_variants_are_named() {
        assert_eq!(
            change::<variants_changed::before::Phase, variants_changed::after::Phase>().as_deref(),
            Some(
                "variants of `Phase` reordered: was (Idle, Busy, Done), now (Busy, Idle, Done); \
                 `Phase::Busy` changed from Phase::Busy(u32) to Phase::Busy(u64); \
                 field `by` added to `Phase::Done`"
            )
        );
    }

    versions!(nested {
        #[derive(Deserialize)] pub struct Bucket { pub lo: f64 }
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub buckets: Vec<Bucket> }
    } => {
        #[derive(Deserialize)] pub struct Bucket { pub lo: f64, pub hi: f64 }
        #[derive(Deserialize)] pub struct Stats { pub total: u64, pub buckets: Vec<Bucket> }
    });

    #[test]
    fn a_change_inside_a_vec_is_found() {
        assert_eq!(
            change::<nested::before::Stats, nested::after::Stats>().as_deref(),
            Some("field `hi` added to `Bucket`")
        );
        // The same change, one level further down and at the root.
        assert_eq!(
            change::<Vec<Option<nested::before::Stats>>, Vec<Option<nested::after::Stats>>>()
                .as_deref(),
            Some("field `hi` added to `Bucket`")
        );
        assert_eq!(
            change::<nested::before::Stats, Vec<nested::before::Stats>>().as_deref(),
            Some("its type changed from Stats to [Stats]")
        );
    }

    versions!(identical {
        use std::collections::{BTreeMap, BTreeSet, HashMap};

        #[derive(Deserialize)] pub struct Id(pub u64);
        #[derive(Deserialize)] pub struct Marker;
        #[derive(Deserialize)] pub struct Pair(pub u8, pub i16);
        #[derive(Deserialize)] pub struct Empty {}
        #[derive(Deserialize)] pub enum Mode { Fast, #[serde(rename = "slow-mode")] Slow { factor: f32 } }
        #[derive(Deserialize)]
        pub struct Everything {
            pub id: Id,
            pub marker: Marker,
            pub pair: Pair,
            pub empty: Empty,
            pub mode: Mode,
            pub text: String,
            pub boxed: Box<str>,
            pub shared: Box<u16>,
            pub floats: (f32, f64),
            pub letter: char,
            pub big: (u128, i128),
            pub unit: (),
            pub bytes: [u8; 32],
            pub small_array: [u32; 3],
            pub map: BTreeMap<String, Vec<(u8, bool)>>,
            pub hash_map: HashMap<u64, Option<Id>>,
            pub set: BTreeSet<i64>,
            pub maybe: Option<Box<Mode>>,
            #[serde(rename = "renamed")]
            pub original: u8,
            #[serde(skip)]
            pub skipped: u32,
            pub span: std::ops::Range<usize>,
            pub elapsed: std::time::Duration,
        }
    } => {});

    #[test]
    fn the_text_records_every_kind_of_type() {
        use identical::before::Everything;
        let text = traced::<Everything>();
        assert_eq!(
            text,
            "root: Everything\n\
             struct Duration { secs: u64, nanos: u32 }\n\
             struct Empty {}\n\
             struct Everything { id: Id, marker: Marker, pair: Pair, empty: Empty, mode: Mode, \
             text: str, boxed: str, shared: u16, floats: (f32, f64), letter: char, \
             big: (u128, i128), unit: (), bytes: [u8; 32], small_array: (u32, u32, u32), \
             map: Map<str, [(u8, bool)]>, hash_map: Map<u64, Option<Id>>, set: [i64], \
             maybe: Option<Mode>, renamed: u8, span: Range, elapsed: Duration }\n\
             struct Id(u64)\n\
             struct Marker\n\
             enum Mode { Fast, slow%2Dmode { factor: f32 } }\n\
             struct Pair(u8, i16)\n\
             struct Range { start: u64, end: u64 }"
        );
        assert_eq!(describe_change(&text, &shape_of::<Everything>()), None);
        assert!(text.len() < 1000);
    }

    #[test]
    fn names_are_escaped_and_unescaped_in_messages() {
        let saved = "root: A\nenum A { x%2Dy(u8) }";
        let current = "root: A\nenum A { x%2Dy(u16) }";
        assert_eq!(
            describe_change(saved, current).as_deref(),
            Some("`A::x-y` changed from A::x-y(u8) to A::x-y(u16)")
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

    mod untraceable {
        use serde::{Deserialize, Deserializer};

        #[derive(Deserialize)]
        #[serde(untagged)]
        pub enum Untagged {
            Number(u64),
            Text(String),
        }

        #[derive(Deserialize)]
        pub struct Flattened {
            pub a: u8,
            #[serde(flatten)]
            pub rest: Inner,
        }
        #[derive(Deserialize)]
        pub struct Inner {
            pub b: u8,
        }

        /// Rejects odd numbers, so the placeholder `1`.
        pub struct Even(pub u32);
        impl<'de> Deserialize<'de> for Even {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match u32::deserialize(d)? {
                    n if n % 2 == 0 => Ok(Even(n)),
                    n => Err(serde::de::Error::custom(format!("{n} is odd"))),
                }
            }
        }

        pub struct Panics;
        impl<'de> Deserialize<'de> for Panics {
            fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
                panic!("this Deserialize panics (on purpose, in a test)")
            }
        }

        /// No value of it exists: it nests without end.
        #[derive(Deserialize)]
        pub struct Endless {
            pub next: Box<Endless>,
        }

        #[derive(Deserialize)]
        pub struct Stats {
            pub total: u64,
            pub evens: Vec<Even>,
        }
    }

    #[test]
    fn untraceable_types_fall_back_to_their_type_name() {
        use untraceable::*;
        fn falls_back<T: DeserializeOwned>() {
            assert_eq!(shape_of::<T>(), format!("untraced: {}", type_name::<T>()));
        }
        falls_back::<Untagged>();
        falls_back::<Flattened>();
        falls_back::<Even>();
        falls_back::<Stats>();
        falls_back::<Option<Panics>>();
        falls_back::<Endless>();
        assert!(
            trace::<Untagged>()
                .unwrap_err()
                .0
                .contains("deserialize_any")
        );
        assert!(trace::<Stats>().unwrap_err().0.contains("1 is odd"));
        assert!(trace::<Endless>().unwrap_err().0.contains("deeper than"));

        let (saved, current) = (shape_of::<Even>(), shape_of::<Stats>());
        assert_eq!(
            describe_change(&saved, &current),
            Some(format!(
                "its type changed from `{}` to `{}`",
                type_name::<Even>(),
                type_name::<Stats>()
            ))
        );
        assert_eq!(describe_change(&saved, &saved), None);
        // Traced before, not now (or the other way round).
        assert!(describe_change(&traced::<u64>(), &saved).is_some());
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
    fn a_shape_over_the_limit_is_its_hash() {
        let large = shape_with_limit::<added::after::Stats>(20);
        let hash = format!(
            "{:016x}",
            crate::envelope::fingerprint("", &shape_of::<added::after::Stats>())
        );
        assert_eq!(
            large,
            format!("large {hash} {}", type_name::<added::after::Stats>())
        );
        let before = shape_with_limit::<added::before::Stats>(20);
        let before = before.replace("::before::", "::after::"); // as if the same type name
        assert_eq!(
            describe_change(&before, &large).as_deref(),
            Some(
                format!(
                    "the structure of `{}` changed (it is too large to say how)",
                    type_name::<added::after::Stats>()
                )
                .as_str()
            )
        );
    }

    #[test]
    fn anything_unparseable_is_still_a_change() {
        assert_eq!(
            describe_change("garbage", "root: u8").as_deref(),
            Some("the structure of its type changed")
        );
        assert_eq!(
            describe_change("root: A\nstruct A { x: u8", "root: A\nstruct A { x: u16 }").as_deref(),
            Some("the structure of its type changed")
        );
    }

    #[test]
    fn many_changes_are_summed_up() {
        let saved = "root: A\nstruct A { a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8, i: u8, j: u8 }";
        let current = saved.replace("u8", "u16");
        let message = describe_change(saved, &current).unwrap();
        assert!(message.starts_with("field `a` of `A` changed type from u8 to u16; "));
        assert!(message.ends_with("; and 2 more changes"), "{message}");
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

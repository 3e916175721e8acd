//! A nesting limit for decoding. postcard has no recursion limit, so a recursive state type
//! (`enum Tree { Leaf, Node(Box<Tree>) }`) decoded from a damaged or hostile payload of
//! repeated "go deeper" bytes would recurse once per byte and overflow the stack, which aborts
//! the process. [`deserialize`] decodes through a proxy that counts how deep the data nests and
//! fails cleanly past [`MAX_DEPTH`] levels.
//!
//! The proxy, [`Limited`], forwards every call to what it wraps, unchanged. The visitor it
//! hands down goes one level deeper wherever the data nests — a sequence, tuple or struct
//! (`visit_seq`), a map (`visit_map`), an enum (`visit_enum`), a `Some` (`visit_some`), a
//! newtype struct (`visit_newtype_struct`) — and the accessors it hands on carry that level to
//! the elements, keys, values and variant contents they decode. The level travels down by
//! value, so siblings do not add up: only nesting counts.
//!
//! Its methods are `#[inline]` and the error path is out of line, so that the proxy folds into
//! the decoding loops: a 100 MB `Vec<f32>` decodes as fast through it as with postcard alone
//! (see the ignored test `decode_speed_of_a_100_mb_vec`).

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

/// How deep decoded data may nest. Real state nests a few levels; a hostile payload can ask
/// for one level per byte. Measured stack per level, proxy included, debug build (release):
/// `enum Tree { Leaf, Node(Box<Tree>) }` 1.0 KiB (224 B); `struct List(Option<Box<List>>)`
/// 0.5 KiB (80 B), two levels per link; a five-field struct with an `Option<Box<Self>>`
/// 1.9 KiB (720 B). So 128 levels take at most about 250 KiB (90 KiB), well inside a 2 MiB
/// thread stack. serde_json's limit is 128 too.
pub(crate) const MAX_DEPTH: usize = 128;

/// Decoding failed: the data nests too deep, or the inner deserializer failed.
#[derive(Debug)]
pub(crate) enum Error<E> {
    /// The data nests deeper than [`MAX_DEPTH`] levels.
    TooDeep,
    /// The inner deserializer's error.
    Inner(E),
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooDeep => write!(f, "the data nests deeper than {MAX_DEPTH} levels"),
            Error::Inner(err) => err.fmt(f),
        }
    }
}

/// Decodes a `T` from `deserializer`, refusing data nested deeper than [`MAX_DEPTH`] levels.
pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<T, Error<D::Error>>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    limited(deserializer, |limited| T::deserialize(limited))
}

/// [`deserialize`] into `place`, through `T::deserialize_in_place`: a `Vec` or `String` keeps
/// its allocation and is overwritten, so decoding a large one does not hold it twice. On an
/// error `place` may hold part of the decoded value.
pub(crate) fn deserialize_in_place<'de, T, D>(
    deserializer: D,
    place: &mut T,
) -> Result<(), Error<D::Error>>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    limited(deserializer, |limited| {
        T::deserialize_in_place(limited, place)
    })
}

/// Runs `decode` over `deserializer` wrapped in the depth limit.
fn limited<'de, R, D: Deserializer<'de>>(
    deserializer: D,
    decode: impl FnOnce(Limited<'_, D>) -> Result<R, D::Error>,
) -> Result<R, Error<D::Error>> {
    let too_deep = Cell::new(false);
    let top = Depth {
        level: 0,
        too_deep: &too_deep,
    };
    // The inner format may not keep a custom error's message (postcard does not), so the
    // flag, not the error, says that the limit was hit.
    decode(top.wrap(deserializer)).map_err(|err| match too_deep.get() {
        true => Error::TooDeep,
        false => Error::Inner(err),
    })
}

/// The nesting level of the data at hand, and the flag raised when it would exceed the limit.
#[derive(Clone, Copy)]
struct Depth<'a> {
    level: usize,
    too_deep: &'a Cell<bool>,
}

impl<'a> Depth<'a> {
    /// One level deeper, or an error past the limit.
    #[inline]
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        if self.level >= MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(Depth {
            level: self.level + 1,
            ..self
        })
    }

    /// Out of line, so that [`deeper`](Self::deeper) stays a compare and an add where it is
    /// inlined, once per nested value.
    #[cold]
    #[inline(never)]
    fn too_deep<E: de::Error>(self) -> E {
        self.too_deep.set(true);
        E::custom(Error::<E>::TooDeep)
    }

    #[inline]
    fn wrap<T>(self, inner: T) -> Limited<'a, T> {
        Limited { inner, depth: self }
    }
}

/// A deserializer, visitor, accessor or seed, with the nesting level of the data it is about.
/// It implements the same serde trait as what it wraps.
struct Limited<'a, T> {
    inner: T,
    depth: Depth<'a>,
}

/// `Deserializer` methods: the same call on the inner deserializer, with the visitor wrapped.
macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.inner.$method($($arg,)* self.depth.wrap(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Limited<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any(); deserialize_bool(); deserialize_char();
        deserialize_i8(); deserialize_i16(); deserialize_i32(); deserialize_i64();
        deserialize_i128();
        deserialize_u8(); deserialize_u16(); deserialize_u32(); deserialize_u64();
        deserialize_u128();
        deserialize_f32(); deserialize_f64();
        deserialize_str(); deserialize_string(); deserialize_bytes(); deserialize_byte_buf();
        deserialize_option(); deserialize_unit(); deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq(); deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map(); deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier(); deserialize_ignored_any();
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// `Visitor` methods for values that do not nest: the same call on the inner visitor.
macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {$(
        #[inline]
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Limited<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool); visit_char(char);
        visit_i8(i8); visit_i16(i16); visit_i32(i32); visit_i64(i64); visit_i128(i128);
        visit_u8(u8); visit_u16(u16); visit_u32(u32); visit_u64(u64); visit_u128(u128);
        visit_f32(f32); visit_f64(f64);
        visit_str(&str); visit_borrowed_str(&'de str); visit_string(String);
        visit_bytes(&[u8]); visit_borrowed_bytes(&'de [u8]); visit_byte_buf(Vec<u8>);
    }

    #[inline]
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    #[inline]
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    // The data nests: one level deeper.

    #[inline]
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        let depth = self.depth.deeper()?;
        self.inner.visit_some(depth.wrap(deserializer))
    }

    #[inline]
    fn visit_newtype_struct<D>(self, deserializer: D) -> Result<V::Value, D::Error>
    where
        D: Deserializer<'de>,
    {
        let depth = self.depth.deeper()?;
        self.inner.visit_newtype_struct(depth.wrap(deserializer))
    }

    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let depth = self.depth.deeper()?;
        self.inner.visit_seq(depth.wrap(seq))
    }

    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let depth = self.depth.deeper()?;
        self.inner.visit_map(depth.wrap(map))
    }

    #[inline]
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        let depth = self.depth.deeper()?;
        self.inner.visit_enum(depth.wrap(data))
    }
}

// The accessors decode their elements, keys, values and variants through wrapped seeds, at
// the level of the sequence, map or enum they belong to.

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Limited<'_, A> {
    type Error = A::Error;

    #[inline]
    fn next_element_seed<S>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error>
    where
        S: DeserializeSeed<'de>,
    {
        self.inner.next_element_seed(self.depth.wrap(seed))
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Limited<'_, A> {
    type Error = A::Error;

    #[inline]
    fn next_key_seed<K>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error>
    where
        K: DeserializeSeed<'de>,
    {
        self.inner.next_key_seed(self.depth.wrap(seed))
    }

    #[inline]
    fn next_value_seed<S>(&mut self, seed: S) -> Result<S::Value, A::Error>
    where
        S: DeserializeSeed<'de>,
    {
        self.inner.next_value_seed(self.depth.wrap(seed))
    }

    #[inline]
    fn next_entry_seed<K, S>(
        &mut self,
        key: K,
        value: S,
    ) -> Result<Option<(K::Value, S::Value)>, A::Error>
    where
        K: DeserializeSeed<'de>,
        S: DeserializeSeed<'de>,
    {
        let depth = self.depth;
        self.inner
            .next_entry_seed(depth.wrap(key), depth.wrap(value))
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Limited<'a, A> {
    type Error = A::Error;
    type Variant = Limited<'a, A::Variant>;

    #[inline]
    fn variant_seed<S>(self, seed: S) -> Result<(S::Value, Self::Variant), A::Error>
    where
        S: DeserializeSeed<'de>,
    {
        let (tag, variant) = self.inner.variant_seed(self.depth.wrap(seed))?;
        Ok((tag, self.depth.wrap(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Limited<'_, A> {
    type Error = A::Error;

    #[inline]
    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    #[inline]
    fn newtype_variant_seed<S>(self, seed: S) -> Result<S::Value, A::Error>
    where
        S: DeserializeSeed<'de>,
    {
        self.inner.newtype_variant_seed(self.depth.wrap(seed))
    }

    #[inline]
    fn tuple_variant<V>(self, len: usize, visitor: V) -> Result<V::Value, A::Error>
    where
        V: Visitor<'de>,
    {
        self.inner.tuple_variant(len, self.depth.wrap(visitor))
    }

    #[inline]
    fn struct_variant<V>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error>
    where
        V: Visitor<'de>,
    {
        self.inner.struct_variant(fields, self.depth.wrap(visitor))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Limited<'_, S> {
    type Value = S::Value;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(self.depth.wrap(deserializer))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::ffi::CString;

    use serde::{Deserialize, Serialize};

    use super::{Error, MAX_DEPTH};

    /// Decodes the next value of `rest` through the limit, advancing `rest` past it.
    fn take_value<T: serde::de::DeserializeOwned>(
        rest: &mut &[u8],
    ) -> Result<T, Error<postcard::Error>> {
        let mut deserializer = postcard::Deserializer::from_bytes(rest);
        let value = super::deserialize(&mut deserializer)?;
        *rest = deserializer.finalize().map_err(Error::Inner)?;
        Ok(value)
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Tree {
        Leaf,
        Node(Box<Tree>),
    }

    /// `nodes` nodes around a leaf: `nodes + 1` levels, one per enum.
    fn tree(nodes: usize) -> Tree {
        (0..nodes).fold(Tree::Leaf, |inner, _| Tree::Node(Box::new(inner)))
    }

    #[derive(Debug, Deserialize)]
    struct List(#[allow(dead_code)] Option<Box<List>>);

    #[derive(Debug, Deserialize)]
    struct Nested(#[allow(dead_code)] Vec<Nested>);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Empty,
        Point(i64, i64),
        Named { name: String, sides: u8 },
        Wrapped(Box<Shape>),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Meters(f64);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Marker;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Everything {
        flag: bool,
        small: i8,
        big: u128,
        negative: i128,
        ratio: f32,
        length: Meters,
        letter: char,
        text: String,
        bytes: CString, // serialized as bytes, decoded with `deserialize_byte_buf`
        nothing: (),
        marker: Marker,
        some: Option<u16>,
        none: Option<String>,
        grid: Vec<Vec<u32>>,
        tuple: (u8, String, [u16; 3]),
        map: BTreeMap<String, Vec<Shape>>,
        shapes: Vec<Shape>,
        tree: Tree,
    }

    /// Encodes `value`, decodes it through the limit and checks every byte was used.
    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(value: &T) -> T {
        let bytes = postcard::to_allocvec(value).unwrap();
        let mut rest = &bytes[..];
        let decoded = take_value(&mut rest).unwrap();
        assert!(rest.is_empty(), "{} bytes left over", rest.len());
        decoded
    }

    fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Error<postcard::Error>> {
        take_value(&mut &bytes[..])
    }

    #[test]
    fn ordinary_values_round_trip() {
        let shapes = vec![
            Shape::Empty,
            Shape::Point(-3, 4),
            Shape::Named {
                name: "triangle".into(),
                sides: 3,
            },
            Shape::Wrapped(Box::new(Shape::Wrapped(Box::new(Shape::Empty)))),
        ];
        let value = Everything {
            flag: true,
            small: -8,
            big: u128::MAX - 1,
            negative: i128::MIN + 1,
            ratio: 0.25,
            length: Meters(-1.5e300),
            letter: 'ß',
            text: "héllo, world".into(),
            bytes: CString::new(vec![1, 2, 255]).unwrap(),
            nothing: (),
            marker: Marker,
            some: Some(65535),
            none: None,
            grid: vec![vec![], vec![1], vec![2, 3, u32::MAX]],
            tuple: (7, "seven".into(), [1, 2, 3]),
            map: BTreeMap::from([
                ("none".into(), vec![]),
                ("some".into(), vec![Shape::Point(1, 2), Shape::Empty]),
            ]),
            shapes,
            tree: tree(5),
        };
        assert_eq!(round_trip(&value), value);
        assert_eq!(round_trip(&Shape::Empty), Shape::Empty);
        assert_eq!(round_trip(&Some(Meters(2.0))), Some(Meters(2.0)));
        assert_eq!(
            round_trip(&vec![vec![1u32, 2], vec![]]),
            [vec![1, 2], vec![]]
        );
    }

    #[test]
    fn hostile_nesting_is_refused_without_overflowing_the_stack() {
        // A million "go deeper" bytes: `Node`, `Some` and a length of 1 are all encoded as 1.
        let hostile = vec![1u8; 1_000_000];
        let message = format!("the data nests deeper than {MAX_DEPTH} levels");
        let err = decode::<Tree>(&hostile).unwrap_err();
        assert!(matches!(err, Error::TooDeep));
        assert_eq!(err.to_string(), message);
        assert!(matches!(decode::<List>(&hostile), Err(Error::TooDeep)));
        assert!(matches!(decode::<Nested>(&hostile), Err(Error::TooDeep)));
        assert!(matches!(decode::<Vec<Tree>>(&hostile), Err(Error::TooDeep)));
    }

    /// In place too: over values that hold other data, and hostile nesting refused below a
    /// `Vec` whose elements are decoded into.
    #[test]
    fn decoding_in_place_is_limited_and_decodes_the_same() {
        type Flat = (Vec<Vec<u32>>, String, [u16; 3], Vec<Tree>);
        let value: Flat = (
            vec![vec![1, 2], vec![], vec![u32::MAX]],
            "né".into(),
            [1, 2, 3],
            vec![tree(3), Tree::Leaf],
        );
        let bytes = postcard::to_allocvec(&value).unwrap();
        let olds: [Flat; 2] = [
            Default::default(),
            (
                vec![vec![9; 40]; 9],
                "longer text".into(),
                [7; 3],
                (0..4).map(|_| tree(9)).collect(),
            ),
        ];
        for mut place in olds {
            let mut deserializer = postcard::Deserializer::from_bytes(&bytes);
            super::deserialize_in_place(&mut deserializer, &mut place).unwrap();
            assert_eq!(place, value);
        }
        let hostile = vec![1u8; 1_000_000];
        let mut place = vec![Tree::Leaf];
        let mut deserializer = postcard::Deserializer::from_bytes(&hostile);
        let err = super::deserialize_in_place(&mut deserializer, &mut place).unwrap_err();
        assert!(matches!(err, Error::TooDeep));
    }

    #[test]
    fn nesting_up_to_the_limit_decodes() {
        let deepest = tree(MAX_DEPTH - 1);
        assert_eq!(round_trip(&deepest), deepest);
        let bytes = postcard::to_allocvec(&tree(MAX_DEPTH)).unwrap();
        assert!(matches!(decode::<Tree>(&bytes), Err(Error::TooDeep)));
    }

    #[test]
    fn siblings_do_not_add_up() {
        let flat: Vec<Tree> = (0..100_000).map(|_| tree(2)).collect();
        assert_eq!(round_trip(&flat), flat);
        let wide: Vec<Option<u32>> = (0..100_000).map(Some).collect();
        assert_eq!(round_trip(&wide), wide);
    }

    #[test]
    fn trailing_bytes_stay_in_rest() {
        let mut bytes = postcard::to_allocvec(&(1u32, "one")).unwrap();
        bytes.extend(postcard::to_allocvec(&Some(Marker)).unwrap());
        let mut rest = &bytes[..];
        assert_eq!(
            take_value::<(u32, String)>(&mut rest).unwrap(),
            (1, "one".into())
        );
        assert_eq!(rest, [1]);
        assert_eq!(
            take_value::<Option<Marker>>(&mut rest).unwrap(),
            Some(Marker)
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn format_errors_pass_through() {
        let err = decode::<(u32, u32)>(&[5]).unwrap_err();
        assert!(matches!(
            err,
            Error::Inner(postcard::Error::DeserializeUnexpectedEnd)
        ));
        assert_eq!(
            err.to_string(),
            postcard::Error::DeserializeUnexpectedEnd.to_string()
        );
    }

    /// B4's decode step, with and without the limit, and two element types that nest:
    /// `cargo test --release -p resumable depth_limit -- --ignored --nocapture`
    #[test]
    #[ignore = "a timing, for release builds"]
    fn decode_speed_of_a_100_mb_vec() {
        #[derive(Serialize, Deserialize)]
        struct Point {
            x: f32,
            label: Option<u32>,
        }

        fn compare<T>(name: &str, value: &T)
        where
            T: Serialize + for<'de> Deserialize<'de>,
        {
            use std::time::{Duration, Instant};

            let bytes = postcard::to_allocvec(value).unwrap();
            let mib = bytes.len() as f64 / (1 << 20) as f64;
            let median = |decode: &dyn Fn(&[u8]) -> T| {
                let mut times: Vec<Duration> = (0..11)
                    .map(|_| {
                        let start = Instant::now();
                        let value = decode(std::hint::black_box(&bytes));
                        let took = start.elapsed();
                        drop(std::hint::black_box(value));
                        took
                    })
                    .collect();
                times.sort();
                times[times.len() / 2]
            };
            let plain = median(&|bytes| postcard::from_bytes(bytes).unwrap());
            let limited = median(&|bytes| decode(bytes).unwrap());
            // What a resume does: through the limit, read in chunks (here from memory).
            let payload = crate::format::stream::Payload::in_memory(bytes.clone());
            let streamed = median(&|_| payload.reader().value().unwrap());
            for (how, took) in [
                ("postcard::from_bytes", plain),
                ("take_value", limited),
                ("stream", streamed),
            ] {
                let speed = mib / took.as_secs_f64();
                println!("{name} {how:>20}: {took:>8.1?} for {mib:.0} MiB, {speed:.0} MiB/s");
            }
        }
        let floats: Vec<f32> = (0..25_000_000).map(|i| i as f32 * 0.5).collect();
        compare("Vec<f32>  ", &floats);
        drop(floats);
        let points: Vec<Point> = (0..10_000_000)
            .map(|i| Point {
                x: i as f32,
                label: (i % 3 == 0).then_some(i),
            })
            .collect();
        compare("Vec<Point>", &points);
        drop(points);
        let nested: Vec<Vec<u8>> = (0..5_000_000u32).map(|i| vec![i as u8; 16]).collect();
        compare("Vec<Vec<u8>>", &nested);
    }
}

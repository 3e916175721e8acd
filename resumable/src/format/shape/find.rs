//! Two lookups in a real value's serde form, by one serializer that writes nothing and walks
//! the value until it finds what it looks for:
//!
//! - [`field_bytes`]: the postcard bytes of one field, which the tracer reads instead of a
//!   placeholder for a field whose `Deserialize` rejects every placeholder (a newtype that
//!   validates its input), so that the fields around it are still traced (the field itself is
//!   then recorded as opaque, `?`). The first struct of the wanted name is the one; only the
//!   first element of each sequence and map is walked, so the cost is that of the value's
//!   structure, not its size, plus the field's own bytes.
//! - [`skipped_field`]: the first struct field the value's `Serialize` leaves out
//!   (`#[serde(skip_serializing_if = …)]` calls `skip_field` for it): postcard writes nothing
//!   for it and its `Deserialize` still reads it, so the bytes do not decode. Every element is
//!   walked; only run to explain a refusal.

use super::Stop;
use serde::ser::{self, Serialize};

/// The postcard bytes of field `index` of the first struct named `container` (serde's name)
/// in `value`; `None` if there is none (it sits in an empty sequence, a `None`, an enum
/// variant, or nowhere).
pub(super) fn field_bytes<T: Serialize + ?Sized>(
    value: &T,
    container: &str,
    index: usize,
) -> Option<Vec<u8>> {
    let mut finder = Finder {
        wanted: Wanted::Field { container, index },
        found: None,
    };
    let _ = value.serialize(&mut finder);
    match finder.found {
        Some(Found::Bytes(bytes)) => Some(bytes),
        _ => None,
    }
}

/// `(container, field)` of the first field `value` skips as it is serialized, if any; a
/// struct variant's container is `Enum::Variant`.
pub(crate) fn skipped_field<T: Serialize + ?Sized>(value: &T) -> Option<(String, &'static str)> {
    let mut finder = Finder {
        wanted: Wanted::Skipped,
        found: None,
    };
    let _ = value.serialize(&mut finder);
    match finder.found {
        Some(Found::Skipped(container, field)) => Some((container, field)),
        _ => None,
    }
}

/// What the walk looks for.
enum Wanted<'a> {
    /// Field `index` of the first struct named `container`.
    Field { container: &'a str, index: usize },
    /// The first field left out.
    Skipped,
}

enum Found {
    Bytes(Vec<u8>),
    Skipped(String, &'static str),
}

struct Finder<'a> {
    wanted: Wanted<'a>,
    /// Set when the walk stops on what it looked for.
    found: Option<Found>,
}

impl Finder<'_> {
    /// Field `index` of a struct named `name` (or another member when `name` is `None`): the
    /// wanted one, or walked into.
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: Option<&str>,
        index: usize,
        value: &T,
    ) -> Result<(), Stop> {
        if let Wanted::Field {
            container,
            index: wanted,
        } = self.wanted
            && name == Some(container)
            && index == wanted
        {
            self.found = postcard::to_allocvec(value).ok().map(Found::Bytes);
            return Err(Stop);
        }
        value.serialize(&mut *self)
    }
}

macro_rules! leaves {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method(self, _: $ty) -> Result<(), Stop> {
            Ok(())
        }
    )*};
}

impl<'f, 'a> ser::Serializer for &'f mut Finder<'a> {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Walk<'f, 'a>;
    type SerializeTuple = Walk<'f, 'a>;
    type SerializeTupleStruct = Walk<'f, 'a>;
    type SerializeTupleVariant = Walk<'f, 'a>;
    type SerializeMap = Walk<'f, 'a>;
    type SerializeStruct = Walk<'f, 'a>;
    type SerializeStructVariant = Walk<'f, 'a>;

    leaves! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_unit_struct(&'static str);
    }

    fn serialize_none(self) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.field(Some(name), 0, value)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, None, None, true))
    }

    fn serialize_tuple(self, _: usize) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, None, None, false))
    }

    fn serialize_tuple_struct(self, name: &'static str, _: usize) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, Some(name), None, false))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, None, None, false))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, None, None, true))
    }

    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, Some(name), Some(name.to_owned()), false))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(
            self,
            None,
            Some(format!("{name}::{variant}")),
            false,
        ))
    }

    fn is_human_readable(&self) -> bool {
        false // as postcard
    }
}

/// The members of a compound value: a struct's fields by index (`name` set), or the elements
/// of a sequence or map, of which a field lookup walks only the first (`first_only`).
struct Walk<'f, 'a> {
    finder: &'f mut Finder<'a>,
    name: Option<&'static str>,
    /// A struct's (or struct variant's) name, for a field it leaves out.
    container: Option<String>,
    first_only: bool,
    index: usize,
}

impl<'f, 'a> Walk<'f, 'a> {
    fn new(
        finder: &'f mut Finder<'a>,
        name: Option<&'static str>,
        container: Option<String>,
        first_only: bool,
    ) -> Self {
        // Every element may hold the field left out.
        let first_only = first_only && !matches!(finder.wanted, Wanted::Skipped);
        Walk {
            finder,
            name,
            container,
            first_only,
            index: 0,
        }
    }

    fn member<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let index = self.index;
        self.index += 1;
        if self.first_only && index > 0 {
            return Ok(());
        }
        self.finder.field(self.name, index, value)
    }

    /// A field left out: not a member (the field indices of a lookup count what is written).
    fn skipped(&mut self, field: &'static str) -> Result<(), Stop> {
        if !matches!(self.finder.wanted, Wanted::Skipped) {
            return Ok(());
        }
        let container = self.container.take().unwrap_or_default();
        self.finder.found = Some(Found::Skipped(container, field));
        Err(Stop)
    }
}

/// The compound serializers whose members are values: each member is walked.
macro_rules! members {
    ($($trait:ident :: $method:ident;)*) => {$(
        impl ser::$trait for Walk<'_, '_> {
            type Ok = ();
            type Error = Stop;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
                self.member(value)
            }

            fn end(self) -> Result<(), Stop> {
                Ok(())
            }
        }
    )*};
}

members! {
    SerializeSeq::serialize_element;
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
}

/// The compound serializers whose members are named fields, which may be left out.
macro_rules! fields {
    ($($trait:ident;)*) => {$(
        impl ser::$trait for Walk<'_, '_> {
            type Ok = ();
            type Error = Stop;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                _: &'static str,
                value: &T,
            ) -> Result<(), Stop> {
                self.member(value)
            }

            fn skip_field(&mut self, field: &'static str) -> Result<(), Stop> {
                self.skipped(field)
            }

            fn end(self) -> Result<(), Stop> {
                Ok(())
            }
        }
    )*};
}

fields! {
    SerializeStruct;
    SerializeStructVariant;
}

impl ser::SerializeMap for Walk<'_, '_> {
    type Ok = ();
    type Error = Stop;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        if !self.first_only || self.index == 0 {
            key.serialize(&mut *self.finder)?;
        }
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.member(value)
    }

    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Node {
        id: u32,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        children: Vec<u32>,
    }

    #[test]
    fn the_first_field_left_out_is_found_anywhere_in_the_value() {
        let full = Node {
            id: 1,
            children: vec![2],
        };
        assert_eq!(skipped_field(&full), None);
        let nodes = vec![
            full,
            Node {
                id: 2,
                children: vec![],
            },
        ];
        assert_eq!(skipped_field(&nodes), Some(("Node".into(), "children")));
    }
}

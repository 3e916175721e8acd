//! The postcard bytes of one field of a real value: what the tracer reads, instead of a
//! placeholder, for a field whose `Deserialize` rejects every placeholder (a newtype that
//! validates its input), so that the fields around it are still traced. The field itself is
//! then recorded as opaque (`?`).
//!
//! A serializer that walks `value` without writing anything until it meets the wanted field
//! of a struct of the wanted name (the first one met), serializes that field with postcard,
//! and stops. It walks only the first element of each sequence and map, so its cost is that of
//! the value's structure, not its size, plus the field's own bytes.

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
        container,
        index,
        found: None,
    };
    let _ = value.serialize(&mut finder);
    finder.found
}

struct Finder<'a> {
    container: &'a str,
    index: usize,
    found: Option<Vec<u8>>,
}

impl Finder<'_> {
    /// Field `index` of a struct named `name`: the wanted one, or walked into.
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: Option<&str>,
        index: usize,
        value: &T,
    ) -> Result<(), Stop> {
        if name == Some(self.container) && index == self.index {
            self.found = postcard::to_allocvec(value).ok();
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
        Ok(Walk::new(self, None, true))
    }

    fn serialize_tuple(self, _: usize) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, None, false))
    }

    fn serialize_tuple_struct(self, name: &'static str, _: usize) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, Some(name), false))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, None, false))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, None, true))
    }

    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, Some(name), false))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Walk<'f, 'a>, Stop> {
        Ok(Walk::new(self, None, false))
    }

    fn is_human_readable(&self) -> bool {
        false // as postcard
    }
}

/// The members of a compound value: a struct's fields by index (`name` set), or the elements
/// of a sequence or map, of which only the first is walked (`first_only`).
struct Walk<'f, 'a> {
    finder: &'f mut Finder<'a>,
    name: Option<&'static str>,
    first_only: bool,
    index: usize,
}

impl<'f, 'a> Walk<'f, 'a> {
    fn new(finder: &'f mut Finder<'a>, name: Option<&'static str>, first_only: bool) -> Self {
        Walk {
            finder,
            name,
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

/// The compound serializers whose members are named fields.
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
        if self.index == 0 {
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

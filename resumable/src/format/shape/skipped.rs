//! The first struct field a value's `Serialize` leaves out (`#[serde(skip_serializing_if =
//! ...)]` calls `skip_field` for it): postcard writes nothing for it and its `Deserialize` still
//! reads it, so the bytes do not decode. A serializer that writes nothing and walks the whole
//! value; only run to explain a refusal.

use super::Stop;
use serde::ser::{self, Serialize};

/// `(container, field)` of the first field `value` skips as it is serialized, if any.
pub(crate) fn skipped_field<T: Serialize + ?Sized>(value: &T) -> Option<(String, &'static str)> {
    let mut skips = Skips { found: None };
    let _ = value.serialize(&mut skips);
    skips.found
}

struct Skips {
    found: Option<(String, &'static str)>,
}

macro_rules! leaves {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method(self, _: $ty) -> Result<(), Stop> {
            Ok(())
        }
    )*};
}

impl<'f> ser::Serializer for &'f mut Skips {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Walk<'f>;
    type SerializeTuple = Walk<'f>;
    type SerializeTupleStruct = Walk<'f>;
    type SerializeTupleVariant = Walk<'f>;
    type SerializeMap = Walk<'f>;
    type SerializeStruct = Walk<'f>;
    type SerializeStructVariant = Walk<'f>;

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
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value.serialize(self)
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

    fn serialize_seq(self, _: Option<usize>) -> Result<Walk<'f>, Stop> {
        Ok(Walk::new(self, String::new()))
    }

    fn serialize_tuple(self, _: usize) -> Result<Walk<'f>, Stop> {
        Ok(Walk::new(self, String::new()))
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Walk<'f>, Stop> {
        Ok(Walk::new(self, String::new()))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Walk<'f>, Stop> {
        Ok(Walk::new(self, String::new()))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Walk<'f>, Stop> {
        Ok(Walk::new(self, String::new()))
    }

    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Walk<'f>, Stop> {
        Ok(Walk::new(self, name.to_owned()))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Walk<'f>, Stop> {
        Ok(Walk::new(self, format!("{name}::{variant}")))
    }

    fn is_human_readable(&self) -> bool {
        false // as postcard
    }
}

/// The members of a compound value, each walked; `container` names a struct's.
struct Walk<'f> {
    skips: &'f mut Skips,
    container: String,
}

impl<'f> Walk<'f> {
    fn new(skips: &'f mut Skips, container: String) -> Self {
        Walk { skips, container }
    }

    fn member<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        value.serialize(&mut *self.skips)
    }

    fn skipped(&mut self, field: &'static str) -> Result<(), Stop> {
        self.skips.found = Some((std::mem::take(&mut self.container), field));
        Err(Stop)
    }
}

/// The compound serializers whose members are values: each member is walked.
macro_rules! members {
    ($($trait:ident :: $method:ident;)*) => {$(
        impl ser::$trait for Walk<'_> {
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

/// The compound serializers whose members are named fields, which may be skipped.
macro_rules! fields {
    ($($trait:ident;)*) => {$(
        impl ser::$trait for Walk<'_> {
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

impl ser::SerializeMap for Walk<'_> {
    type Ok = ();
    type Error = Stop;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        self.member(key)
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

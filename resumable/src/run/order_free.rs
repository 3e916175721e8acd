//! The fingerprint of a hash table (`HashMap`, `HashSet`) that does not depend on its order,
//! which differs from one process to the next: each entry's postcard bytes are hashed on their
//! own and the hashes added up. An input of a call that is a hash table is then part of the
//! key like any other (`counts: &mut HashMap<String, u64>` as loop state, a `HashSet` of ids).
//! Only a table at the top of the value is seen: one inside a struct or a `Vec` is refused
//! by the caller, with the advice to say the key.

use std::hash::Hasher as _;

use serde::ser::{self, Impossible, Serialize, Serializer};

use crate::format::hash::Hash128;
use crate::format::shape::Stop;
use crate::run::hash_into;

/// The order-free fingerprint of `value` if it serializes as a sequence or a map (each of its
/// elements or entries in any order); `None` for anything else, or a `Serialize` that fails.
pub(crate) fn fingerprint<T: Serialize + ?Sized>(value: &T) -> Option<u128> {
    value.serialize(Table).ok()
}

/// Serializes the top of a value: a sequence or a map, and nothing else.
struct Table;

/// The entries seen so far: their hashes added up, their count, the entry being hashed.
struct Entries {
    sum: u128,
    count: u64,
    current: Option<Hash128>,
}

impl Entries {
    fn new() -> Entries {
        Entries {
            sum: 0,
            count: 0,
            current: None,
        }
    }

    /// Feeds `part` to the entry being hashed (a new one if none is).
    fn feed<T: Serialize + ?Sized>(&mut self, part: &T) -> Result<(), Stop> {
        let hasher = self.current.get_or_insert_with(Hash128::new);
        match hash_into::serialized(part, hasher, usize::MAX) {
            true => Ok(()),
            false => Err(Stop),
        }
    }

    /// The entry being hashed is complete.
    fn close(&mut self) {
        if let Some(hasher) = self.current.take() {
            self.sum = self.sum.wrapping_add(hasher.finish128());
            self.count += 1;
        }
    }

    fn finish(self) -> u128 {
        let mut hasher = Hash128::new();
        hasher.write(b"order-free");
        hasher.write(&self.sum.to_le_bytes());
        hasher.write(&self.count.to_le_bytes());
        hasher.finish128()
    }
}

impl ser::SerializeSeq for Entries {
    type Ok = u128;
    type Error = Stop;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.feed(value)?;
        self.close();
        Ok(())
    }

    fn end(self) -> Result<u128, Stop> {
        Ok(self.finish())
    }
}

impl ser::SerializeMap for Entries {
    type Ok = u128;
    type Error = Stop;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        self.close();
        self.feed(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.feed(value)?;
        self.close();
        Ok(())
    }

    fn end(mut self) -> Result<u128, Stop> {
        self.close();
        Ok(self.finish())
    }
}

/// Every form but a sequence, a map, or a newtype around one is refused.
macro_rules! refuse {
    ($($method:ident($($ty:ty),*)),* $(,)?) => {
        $(
            fn $method(self, $(_: $ty),*) -> Result<u128, Stop> {
                Err(Stop)
            }
        )*
    };
}

impl Serializer for Table {
    type Ok = u128;
    type Error = Stop;
    type SerializeSeq = Entries;
    type SerializeTuple = Impossible<u128, Stop>;
    type SerializeTupleStruct = Impossible<u128, Stop>;
    type SerializeTupleVariant = Impossible<u128, Stop>;
    type SerializeMap = Entries;
    type SerializeStruct = Impossible<u128, Stop>;
    type SerializeStructVariant = Impossible<u128, Stop>;

    fn serialize_seq(self, _: Option<usize>) -> Result<Entries, Stop> {
        Ok(Entries::new())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Entries, Stop> {
        Ok(Entries::new())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<u128, Stop> {
        value.serialize(self)
    }

    refuse! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]),
        serialize_none(), serialize_unit(), serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<u128, Stop> {
        Err(Stop)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<u128, Stop> {
        Err(Stop)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Stop> {
        Err(Stop)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop> {
        Err(Stop)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        Err(Stop)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Stop> {
        Err(Stop)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        Err(Stop)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn a_table_has_one_fingerprint_whatever_its_order() {
        let pairs: Vec<(String, u64)> = (0..200).map(|i| (format!("k{i}"), i * 7)).collect();
        let forward: HashMap<_, _> = pairs.iter().cloned().collect();
        let backward: HashMap<_, _> = pairs.iter().rev().cloned().collect();
        assert_eq!(fingerprint(&forward), fingerprint(&backward));
        assert!(fingerprint(&forward).is_some());
        let mut changed = forward.clone();
        changed.insert("k3".into(), 22);
        assert_ne!(fingerprint(&forward), fingerprint(&changed));
        // A key's value moved to another key is another table.
        let swapped: HashMap<_, _> = [("a", 1u64), ("b", 2)].into_iter().collect();
        let other: HashMap<_, _> = [("a", 2u64), ("b", 1)].into_iter().collect();
        assert_ne!(fingerprint(&swapped), fingerprint(&other));
        let set: HashSet<u64> = (0..50).collect();
        let fewer: HashSet<u64> = (0..49).collect();
        assert_ne!(fingerprint(&set), fingerprint(&fewer));
        // Not a table at the top: refused.
        assert_eq!(fingerprint(&(1u64, forward)), None);
    }
}

//! The tracer's deserializer: a [`Reader`] that reads no bytes and records what a type's
//! `Deserialize` asks for, with the [`Items`] of a sequence, tuple, struct or map and the
//! [`Variant`] of an enum. The bookkeeping they record into is the parent module's `Tracer`.

use std::any::type_name;

use serde::de::{self, DeserializeSeed, Visitor};

use super::{Body, Id, Tracer, Ty, Untraceable, unsupported};

/// A deserializer that reads nothing and records what it is asked for into `out`. In cut mode
/// it records nothing that lasts and ends every recursion it can.
pub(super) struct Reader<'a> {
    pub(super) tracer: &'a mut Tracer,
    pub(super) out: &'a mut Ty,
    pub(super) cut: bool,
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
        tracer.collection(type_name::<V::Value>());
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
        tracer.collection(type_name::<V::Value>());
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
            return Err(Untraceable::new(format!("enum `{name}` has no variants")));
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
            let body = body.ok_or_else(|| Untraceable::new(format!("`{name}` read no variant")))?;
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
            read(Items::new(tracer, &mut items, cut).of(name))
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
    /// The struct these are the fields of (serde's name), and the next field's index.
    of: Option<&'static str>,
    next: usize,
}

impl<'a> Items<'a> {
    fn new(tracer: &'a mut Tracer, slots: &'a mut [Ty], cut: bool) -> Self {
        Items {
            tracer,
            slots: slots.iter_mut(),
            cut,
            of: None,
            next: 0,
        }
    }

    /// These are the fields of the struct `name`.
    fn of(self, name: &'static str) -> Self {
        Items {
            of: Some(name),
            ..self
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
        // A field that refused every placeholder: read from a real value, left opaque.
        if let Some(bytes) = self.real_field() {
            return read_real(seed, bytes).map(Some);
        }
        let read = self
            .reader()
            .map(|reader| seed.deserialize(reader))
            .transpose();
        if let Err(err) = &read {
            self.refusal(err);
        }
        read
    }

    /// Steps to the next field; its real bytes if it is to be read from them (its slot is
    /// then opaque). Not generic, so that [`Items::next`]'s frame stays small.
    fn real_field(&mut self) -> Option<&'static [u8]> {
        let field = (self.of?, self.next);
        self.next += 1;
        let &bytes = self.tracer.real.get(&field)?;
        *self.slots.next()? = Ty::Opaque;
        Some(bytes)
    }

    /// Notes the field just read as one that refused its placeholder, if `err` says so.
    fn refusal(&mut self, err: &Untraceable) {
        if let Some(name) = self.of
            && err.rejected
            && !self.cut
        {
            self.tracer.refused.get_or_insert((name, self.next - 1));
        }
    }
}

/// Reads a field from a real value's bytes. Apart from [`Items::next`], whose frame is on the
/// stack once per level of nesting, so that the tracer stays within a small stack.
#[inline(never)]
fn read_real<'de, S: DeserializeSeed<'de>>(
    seed: S,
    bytes: &'static [u8],
) -> Result<S::Value, Untraceable> {
    let mut real = postcard::Deserializer::from_bytes(bytes);
    seed.deserialize(&mut real)
        .map_err(|err| Untraceable::new(format!("a real value's field does not decode ({err})")))
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
            .ok_or_else(|| Untraceable::new("a map value was read without its key"))
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

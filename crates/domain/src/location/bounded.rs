//! A deserializer that refuses containers nested deeper than [`MAX_NESTING_DEPTH`] anywhere in
//! what it reads, ignored fields included, so a typed read of a whole body checks the bound as
//! it goes (as `depth::Skip` checks it while skipping). The refusal's words do not matter here:
//! a body refused on the one-pass read is read again by the path that names the field.
//!
//! [`MAX_NESTING_DEPTH`]: crate::limits::MAX_NESTING_DEPTH

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

use crate::depth::too_deep;

/// `de`, whose value is at nesting `level` (the body's own object is level 1).
pub(super) struct Bounded<D> {
    pub de: D,
    pub level: usize,
}

macro_rules! forward_deserialize {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
            self.de.$name(Wrap { v, level: self.level })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Bounded<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        let level = self.level;
        self.de.deserialize_unit_struct(name, Wrap { v, level })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        let level = self.level;
        self.de.deserialize_newtype_struct(name, Wrap { v, level })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, D::Error> {
        let level = self.level;
        self.de.deserialize_tuple(len, Wrap { v, level })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, D::Error> {
        let level = self.level;
        self.de
            .deserialize_tuple_struct(name, len, Wrap { v, level })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        let level = self.level;
        self.de.deserialize_struct(name, fields, Wrap { v, level })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        let level = self.level;
        self.de.deserialize_enum(name, variants, Wrap { v, level })
    }

    /// An ignored value is still read through, so its nesting is checked.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        let level = self.level;
        self.de.deserialize_any(Wrap { v, level })
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// A visitor whose containers are checked against the bound, their contents one level down.
struct Wrap<V> {
    v: V,
    level: usize,
}

macro_rules! forward_visit {
    ($($name:ident: $ty:ty)*) => {$(
        fn $name<E: de::Error>(self, x: $ty) -> Result<V::Value, E> {
            self.v.$name(x)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.v.expecting(f)
    }

    forward_visit! {
        visit_bool: bool visit_i8: i8 visit_i16: i16 visit_i32: i32 visit_i64: i64
        visit_i128: i128 visit_u8: u8 visit_u16: u16 visit_u32: u32 visit_u64: u64
        visit_u128: u128 visit_f32: f32 visit_f64: f64 visit_char: char visit_str: &str
        visit_borrowed_str: &'de str visit_string: String visit_bytes: &[u8]
        visit_borrowed_bytes: &'de [u8] visit_byte_buf: Vec<u8>
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.v.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.v.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        let level = self.level;
        self.v.visit_some(Bounded { de, level })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        let level = self.level;
        self.v.visit_newtype_struct(Bounded { de, level })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<V::Value, A::Error> {
        too_deep(self.level)?;
        self.v.visit_seq(Inner {
            access: s,
            level: self.level + 1,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<V::Value, A::Error> {
        too_deep(self.level)?;
        self.v.visit_map(Inner {
            access: m,
            level: self.level + 1,
        })
    }

    /// No type read through [`Bounded`] is an enum; a variant's contents go unchecked.
    fn visit_enum<A: EnumAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.v.visit_enum(a)
    }
}

/// The elements or entries of a container, each read at `level`.
struct Inner<A> {
    access: A,
    level: usize,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Inner<A> {
    type Error = A::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let level = self.level;
        self.access.next_element_seed(Seed { seed, level })
    }
    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Inner<A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.access.next_key_seed(seed) // keys are strings: nothing nested
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let level = self.level;
        self.access.next_value_seed(Seed { seed, level })
    }
    fn size_hint(&self) -> Option<usize> {
        self.access.size_hint()
    }
}

/// `seed`, reading its value through [`Bounded`] at `level`.
struct Seed<S> {
    seed: S,
    level: usize,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Bounded {
            de,
            level: self.level,
        })
    }
}

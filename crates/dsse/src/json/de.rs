//! [`Node`] as a `serde::Deserializer`: typed values decoded straight from
//! the tree, strings borrowed from the input.

use std::borrow::Cow;

use serde::de::{self, Deserializer as _, IntoDeserializer, Visitor};

use super::{Item, Node};
use crate::error::Error;

impl<'t, 'a> Node<'t, 'a> {
    /// Decodes the value into `T` (serde), without an intermediate
    /// [`serde_json::Value`].
    pub fn decode<T: de::Deserialize<'t>>(self) -> Result<T, Error> {
        T::deserialize(self).map_err(|source| Error::Json { source })
    }

    fn unexpected(&self) -> de::Unexpected<'t> {
        match self.item() {
            Item::Null => de::Unexpected::Unit,
            Item::Bool(b) => de::Unexpected::Bool(*b),
            Item::U64(n) => de::Unexpected::Unsigned(*n),
            Item::I64(n) => de::Unexpected::Signed(*n),
            Item::F64(f) => de::Unexpected::Float(*f),
            Item::Str(s) => de::Unexpected::Str(s.as_ref()),
            Item::Array { .. } => de::Unexpected::Seq,
            Item::Object { .. } => de::Unexpected::Map,
        }
    }
}

struct Elements<'t, 'a: 't, I: Iterator<Item = Node<'t, 'a>>>(I, usize);

impl<'de, 'a: 'de, I: Iterator<Item = Node<'de, 'a>>> de::SeqAccess<'de> for Elements<'de, 'a, I> {
    type Error = serde_json::Error;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        match self.0.next() {
            Some(n) => {
                self.1 = self.1.saturating_sub(1);
                seed.deserialize(n).map(Some)
            }
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.1)
    }
}

struct Members<'t, 'a: 't, I: Iterator<Item = (&'t str, Node<'t, 'a>)>> {
    entries: I,
    value: Option<Node<'t, 'a>>,
    left: usize,
}

/// An object key: deserializes as the borrowed string.
struct Key<'t>(&'t str);

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = serde_json::Error;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_borrowed_str(self.0)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, 'a: 'de, I: Iterator<Item = (&'de str, Node<'de, 'a>)>> de::MapAccess<'de>
    for Members<'de, 'a, I>
{
    type Error = serde_json::Error;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                self.left = self.left.saturating_sub(1);
                seed.deserialize(Key(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::custom("value requested before key")),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct Variant<'t, 'a: 't> {
    name: &'t str,
    value: Option<Node<'t, 'a>>,
}

impl<'t, 'a: 't> Variant<'t, 'a> {
    /// The variant's content, which a `what` ("tuple variant", …) needs.
    fn content(self, what: &'static str) -> Result<Node<'t, 'a>, serde_json::Error> {
        self.value
            .ok_or_else(|| de::Error::invalid_type(de::Unexpected::UnitVariant, &what))
    }
}

impl<'de, 'a: 'de> de::EnumAccess<'de> for Variant<'de, 'a> {
    type Error = serde_json::Error;
    type Variant = Self;
    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), Self::Error> {
        let name = seed.deserialize(Key(self.name))?;
        Ok((name, self))
    }
}

impl<'de, 'a: 'de> de::VariantAccess<'de> for Variant<'de, 'a> {
    type Error = serde_json::Error;
    fn unit_variant(self) -> Result<(), Self::Error> {
        match self.value {
            None => Ok(()),
            Some(v) => de::Deserialize::deserialize(v),
        }
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        seed.deserialize(self.content("newtype variant")?)
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.content("tuple variant")?.deserialize_seq(visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.content("struct variant")?.deserialize_map(visitor)
    }
}

impl<'de, 'a: 'de> de::Deserializer<'de> for Node<'de, 'a> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.item() {
            Item::Null => visitor.visit_unit(),
            Item::Bool(b) => visitor.visit_bool(*b),
            Item::U64(n) => visitor.visit_u64(*n),
            Item::I64(n) => visitor.visit_i64(*n),
            Item::F64(f) => visitor.visit_f64(*f),
            Item::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Item::Str(Cow::Owned(s)) => visitor.visit_borrowed_str(s.as_str()),
            Item::Array { .. } => visitor.visit_seq(Elements(self.elements(), self.len())),
            Item::Object { .. } => visitor.visit_map(Members {
                entries: self.members(),
                value: None,
                left: self.len(),
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.item() {
            Item::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.item() {
            Item::Str(_) => visitor.visit_enum(Variant {
                name: self.as_str().unwrap_or_default(),
                value: None,
            }),
            Item::Object { .. } if self.len() == 1 => {
                let mut members = self.members();
                match members.next() {
                    Some((name, value)) => visitor.visit_enum(Variant {
                        name,
                        value: Some(value),
                    }),
                    None => Err(de::Error::invalid_type(self.unexpected(), &"an enum")),
                }
            }
            _ => Err(de::Error::invalid_type(self.unexpected(), &"an enum")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de, 'a: 'de> IntoDeserializer<'de, serde_json::Error> for Node<'de, 'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

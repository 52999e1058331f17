//! The names a `#[derive(Deserialize)]` type accepts, read from the derive itself: the field
//! names of a struct and the variant names of an enum, as they appear on the wire (renames
//! applied). `GET /admin` lists an endpoint's fields from here and the docs check compares
//! them with `docs/admin.md`, so neither can drift from the request types.
//!
//! The derive hands those names to the deserializer (`deserialize_struct(name, FIELDS, ..)`,
//! `deserialize_enum(name, VARIANTS, ..)`); a deserializer that records them and stops is all
//! it takes. Types that do not forward to those calls (maps, `#[serde(flatten)]` containers,
//! primitives) have no names: the request types here are kept flat for that reason.

use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};

/// The wire names of `T`'s struct fields (empty if `T` is not a plain derived struct).
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    capture::<T>().fields
}

/// The wire names of `T`'s enum variants (empty if `T` is not a derived enum).
pub fn variant_names<T: DeserializeOwned>() -> &'static [&'static str] {
    capture::<T>().variants
}

fn capture<T: DeserializeOwned>() -> Names {
    let mut names = Names::default();
    // Always an error: the recorder stops the derive as soon as it has the names.
    let _stopped = T::deserialize(Recorder(&mut names));
    names
}

#[derive(Debug, Default)]
struct Names {
    fields: &'static [&'static str],
    variants: &'static [&'static str],
}

/// The deserializer that records the names and refuses to produce a value.
struct Recorder<'a>(&'a mut Names);

/// Why the recorder stopped (never shown to anyone).
#[derive(Debug)]
struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("names recorded")
    }
}

impl std::error::Error for Stopped {}

impl de::Error for Stopped {
    fn custom<M: fmt::Display>(_message: M) -> Self {
        Stopped
    }
}

impl<'de> de::Deserializer<'de> for Recorder<'_> {
    type Error = Stopped;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stopped> {
        Err(Stopped)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stopped> {
        self.0.fields = fields;
        Err(Stopped)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stopped> {
        self.0.variants = variants;
        Err(Stopped)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Plain {
        first: u64,
        #[serde(rename = "second_name")]
        second: Option<String>,
        #[serde(skip)]
        hidden: bool,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    #[serde(default)]
    struct Defaulted {
        only: u64,
    }

    impl Default for Defaulted {
        fn default() -> Self {
            Defaulted { only: 7 }
        }
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    enum Kind {
        #[serde(rename = "a.b")]
        Dotted,
        Plain,
    }

    #[test]
    fn struct_fields_are_the_wire_names_without_skipped_ones() {
        assert_eq!(field_names::<Plain>(), ["first", "second_name"]);
        assert_eq!(field_names::<Defaulted>(), ["only"]);
        assert!(variant_names::<Plain>().is_empty());
    }

    #[test]
    fn enum_variants_are_the_wire_names() {
        assert_eq!(variant_names::<Kind>(), ["a.b", "Plain"]);
        assert!(field_names::<Kind>().is_empty());
    }

    #[test]
    fn other_types_have_no_names() {
        assert!(field_names::<u64>().is_empty());
        assert!(field_names::<Option<Plain>>().is_empty());
        assert!(field_names::<serde_json::Value>().is_empty());
    }
}

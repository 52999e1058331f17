//! [`Params`]: the flat children of a WeChat Pay v2 `<xml>` document, in document order.

use std::fmt::Display;

/// How a value is written by [`crate::wechat::xml::encode`].
///
/// The real server writes integers bare and every string in CDATA (spec §2.1); the kind is
/// presentation only and never changes the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A string, emitted as `<![CDATA[...]]>`.
    Text,
    /// An integer, emitted bare.
    Int,
}

/// One child element of `<xml>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    value: String,
    kind: ValueKind,
}

/// The parameters of one message: the child elements of `<xml>` in document order.
///
/// Names are case-sensitive and unique (inserting an existing name replaces its value in place).
/// A linear list rather than a map: messages have a few dozen fields, and document order is
/// kept so that encoded responses look like the real platform's.
///
/// `==` compares order and kinds too; use [`Params::same_fields`] to compare what is signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    entries: Vec<Entry>,
}

impl Params {
    /// An empty parameter list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `name`, if present (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name)
            .and_then(|i| self.entries.get(i))
            .map(|e| e.value.as_str())
    }

    /// The value of `name` if present and not empty.
    ///
    /// WeChat treats an empty value as absent (it is not signed, §1.1), so readers of optional
    /// fields should use this rather than [`Params::get`].
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// How `name` would be emitted, if present.
    pub fn kind(&self, name: &str) -> Option<ValueKind> {
        self.position(name)
            .and_then(|i| self.entries.get(i))
            .map(|e| e.kind)
    }

    /// Sets `name` to a string value (emitted in CDATA): replaces in place if it exists,
    /// else appends.
    pub fn insert_text(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.insert(name.into(), value.into(), ValueKind::Text);
    }

    /// Sets `name` to an integer value (emitted bare): replaces in place if it exists, else
    /// appends.
    pub fn insert_int(&mut self, name: impl Into<String>, value: impl Display) {
        self.insert(name.into(), value.to_string(), ValueKind::Int);
    }

    /// Sets `name` with an explicit kind: replaces in place if it exists, else appends.
    pub fn insert(&mut self, name: String, value: String, kind: ValueKind) {
        match self.position(&name) {
            Some(i) => {
                if let Some(e) = self.entries.get_mut(i) {
                    e.value = value;
                    e.kind = kind;
                }
            }
            None => self.entries.push(Entry { name, value, kind }),
        }
    }

    /// Removes `name`, returning its value if it was present.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.position(name)?;
        Some(self.entries.remove(i).value)
    }

    /// `(name, value)` pairs in document order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_str()))
    }

    /// `(name, value, kind)` triples in document order.
    pub fn iter_with_kind(&self) -> impl ExactSizeIterator<Item = (&str, &str, ValueKind)> + '_ {
        self.entries
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_str(), e.kind))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when both hold the same names with the same values, ignoring order and
    /// [`ValueKind`]: the comparison that matters for signatures and semantics.
    pub fn same_fields(&self, other: &Params) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.name == name)
    }
}

impl<'a> IntoIterator for &'a Params {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn ExactSizeIterator<Item = (&'a str, &'a str)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    /// Collects text parameters; a repeated name keeps its first position and last value.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut p = Params::new();
        for (k, v) in iter {
            p.insert_text(k, v);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_in_place_and_keeps_order() {
        let mut p = Params::new();
        p.insert_text("b", "1");
        p.insert_int("a", 2);
        p.insert_text("b", "3");
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![("b", "3"), ("a", "2")]);
        assert_eq!(p.kind("a"), Some(ValueKind::Int));
        assert_eq!(p.remove("b").as_deref(), Some("3"));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn names_are_case_sensitive_and_empty_is_absent_for_non_empty() {
        let mut p = Params::new();
        p.insert_text("Sign", "x");
        p.insert_text("empty", "");
        p.insert_text("zero", "0");
        assert_eq!(p.get("sign"), None);
        assert_eq!(p.get("empty"), Some(""));
        assert_eq!(p.non_empty("empty"), None);
        assert_eq!(p.non_empty("zero"), Some("0"));
    }

    #[test]
    fn same_fields_ignores_order_and_kind() {
        let a: Params = [("x", "1"), ("y", "2")].into_iter().collect();
        let mut b = Params::new();
        b.insert_int("y", 2);
        b.insert_text("x", "1");
        assert!(a.same_fields(&b));
        assert_ne!(a, b);
        b.insert_text("z", "");
        assert!(!a.same_fields(&b));
    }
}

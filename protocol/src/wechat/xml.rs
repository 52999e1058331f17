//! The flat `<xml>` codec (spec §2): strict, bounded decoding of untrusted bodies and
//! server-style encoding.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::params::{Params, ValueKind};

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Documents with more children than this are refused (the largest real message has well
/// under a hundred).
pub const MAX_FIELDS: usize = 512;

/// Why a body is not an acceptable WeChat Pay v2 XML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// The body is empty (or only a BOM and whitespace).
    #[error("empty body")]
    Empty,
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The body is not valid UTF-8 (the only encoding the API uses, §2.1).
    #[error("body is not UTF-8")]
    NotUtf8,
    /// The document has more than [`MAX_FIELDS`] children.
    #[error("more than {MAX_FIELDS} fields")]
    TooManyFields,
    /// The root element is not `<xml>`; carries the name found.
    #[error("root element is <{0}>, expected <xml>")]
    WrongRoot(String),
    /// A child of `<xml>` contains an element; carries the child's name. The API is flat.
    #[error("element nested inside <{0}>")]
    NestedElement(String),
    /// Non-whitespace text (or a reference) directly inside `<xml>`, between children.
    #[error("text directly inside <xml>")]
    TextInRoot,
    /// The same child name appears twice; carries the name. Which one would win is
    /// ambiguous, and a signature could be checked on one and business logic run on the other.
    #[error("duplicated field <{0}>")]
    DuplicateField(String),
    /// A `<!DOCTYPE ...>` (and so possibly entity declarations): refused outright, no XXE and
    /// no entity expansion.
    #[error("DOCTYPE is not allowed")]
    Doctype,
    /// A reference to an entity other than the five predefined ones; carries its name.
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    /// A character XML 1.0 does not allow (e.g. `&#0;`, a lone surrogate reference, a raw
    /// control character), or a character reference that is not a number (`&#;`).
    #[error("character not allowed in XML")]
    InvalidChar,
    /// Anything but whitespace, comments or processing instructions after `</xml>`.
    #[error("content after </xml>")]
    TrailingContent,
    /// Not well-formed XML (unclosed or mismatched tags, bad syntax, no root element...).
    #[error("malformed XML at byte {position}: {reason}")]
    Malformed {
        /// Byte offset in the body (after any BOM) where the problem was noticed.
        position: u64,
        /// What the parser complained about.
        reason: String,
    },
}

/// Where the parser is in the document.
enum State {
    /// Before the root element (prolog, comments, whitespace).
    Prolog,
    /// Inside `<xml>`, between children.
    Root,
    /// Inside a child element, accumulating its value.
    Child {
        name: String,
        value: String,
        /// Whether any CDATA section contributed (decides [`ValueKind`]).
        cdata: bool,
    },
    /// After `</xml>`.
    Done,
}

/// Decodes a request or response body into its parameters.
///
/// Accepts CDATA and escaped text (mixed within one value), any element order, an optional
/// XML declaration, a leading BOM, whitespace, comments and processing instructions between
/// elements, and empty elements. Attributes are ignored. Values are taken exactly: not
/// trimmed, no end-of-line normalisation; references (`&amp;`, `&#20013;`...) are resolved.
///
/// A value that had no CDATA and is made of ASCII digits is tagged [`ValueKind::Int`], any
/// other [`ValueKind::Text`], so that re-encoding a server-style document is faithful.
pub fn decode(body: &[u8]) -> Result<Params, XmlError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(XmlError::TooLarge);
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    if text.trim_matches(is_xml_space).is_empty() {
        return Err(XmlError::Empty);
    }

    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.trim_text(false);
    config.expand_empty_elements = false;
    config.check_end_names = true;
    config.allow_dangling_amp = false;
    config.allow_unmatched_ends = false;
    config.check_comments = true;

    let mut params = Params::new();
    let mut state = State::Prolog;
    let mut seen_decl_or_markup = false;

    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| malformed(position, e))?;
        match event {
            Event::Eof => break,
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) => {
                // Only as the very first markup, as XML requires.
                if seen_decl_or_markup || !matches!(state, State::Prolog) {
                    return Err(XmlError::Malformed {
                        position,
                        reason: "XML declaration not at the start".into(),
                    });
                }
                seen_decl_or_markup = true;
            }
            Event::Comment(_) | Event::PI(_) => {
                seen_decl_or_markup = true;
            }
            Event::Start(e) => {
                seen_decl_or_markup = true;
                let name = element_name(&e, position)?;
                state = match state {
                    State::Prolog => open_root(name)?,
                    State::Root => open_child(&params, name)?,
                    State::Child { name: parent, .. } => {
                        return Err(XmlError::NestedElement(parent));
                    }
                    State::Done => return Err(XmlError::TrailingContent),
                };
            }
            Event::Empty(e) => {
                seen_decl_or_markup = true;
                let name = element_name(&e, position)?;
                match state {
                    State::Prolog => {
                        // `<xml/>`: a document without fields.
                        open_root(name)?;
                        state = State::Done;
                    }
                    State::Root => {
                        open_child(&params, name.clone())?;
                        params.insert(name, String::new(), ValueKind::Text);
                    }
                    State::Child { name: parent, .. } => {
                        return Err(XmlError::NestedElement(parent));
                    }
                    State::Done => return Err(XmlError::TrailingContent),
                }
            }
            Event::End(_) => {
                // check_end_names guarantees the name matches the open element.
                state = match state {
                    State::Child { name, value, cdata } => {
                        let kind = if !cdata
                            && !value.is_empty()
                            && value.bytes().all(|b| b.is_ascii_digit())
                        {
                            ValueKind::Int
                        } else {
                            ValueKind::Text
                        };
                        params.insert(name, value, kind);
                        State::Root
                    }
                    State::Root => State::Done,
                    State::Prolog | State::Done => {
                        return Err(XmlError::Malformed {
                            position,
                            reason: "unexpected end tag".into(),
                        });
                    }
                };
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| malformed(position, e))?;
                match &mut state {
                    State::Child { value, .. } => push_checked(value, &s)?,
                    State::Root => {
                        if !s.chars().all(is_xml_space) {
                            return Err(XmlError::TextInRoot);
                        }
                    }
                    State::Prolog => {
                        if !s.chars().all(is_xml_space) {
                            return Err(XmlError::Malformed {
                                position,
                                reason: "text before the root element".into(),
                            });
                        }
                    }
                    State::Done => {
                        if !s.chars().all(is_xml_space) {
                            return Err(XmlError::TrailingContent);
                        }
                    }
                }
            }
            Event::CData(c) => {
                let s = c.decode().map_err(|e| malformed(position, e))?;
                match &mut state {
                    State::Child { value, cdata, .. } => {
                        *cdata = true;
                        push_checked(value, &s)?;
                    }
                    State::Root => return Err(XmlError::TextInRoot),
                    State::Done => return Err(XmlError::TrailingContent),
                    State::Prolog => {
                        return Err(XmlError::Malformed {
                            position,
                            reason: "CDATA before the root element".into(),
                        });
                    }
                }
            }
            Event::GeneralRef(r) => {
                let resolved = resolve_reference(&r, position)?;
                match &mut state {
                    State::Child { value, .. } => value.push(resolved),
                    State::Root => return Err(XmlError::TextInRoot),
                    State::Done => return Err(XmlError::TrailingContent),
                    State::Prolog => {
                        return Err(XmlError::Malformed {
                            position,
                            reason: "reference before the root element".into(),
                        });
                    }
                }
            }
        }
    }

    match state {
        State::Done => Ok(params),
        State::Prolog => Err(XmlError::Malformed {
            position: reader.buffer_position(),
            reason: "no root element".into(),
        }),
        State::Root | State::Child { .. } => Err(XmlError::Malformed {
            position: reader.buffer_position(),
            reason: "unexpected end of document".into(),
        }),
    }
}

fn malformed(position: u64, e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed {
        position,
        reason: e.to_string(),
    }
}

fn open_root(name: String) -> Result<State, XmlError> {
    if name == "xml" {
        Ok(State::Root)
    } else {
        Err(XmlError::WrongRoot(name))
    }
}

fn open_child(params: &Params, name: String) -> Result<State, XmlError> {
    if params.get(&name).is_some() {
        return Err(XmlError::DuplicateField(name));
    }
    if params.len() >= MAX_FIELDS {
        return Err(XmlError::TooManyFields);
    }
    Ok(State::Child {
        name,
        value: String::new(),
        cdata: false,
    })
}

/// The element's name, after checking its attributes are well-formed (their values are
/// ignored) and that the name is an XML name.
fn element_name(e: &BytesStart<'_>, position: u64) -> Result<String, XmlError> {
    for attr in e.attributes().with_checks(true) {
        attr.map_err(|err| malformed(position, err))?;
    }
    let name = std::str::from_utf8(e.name().as_ref())
        .map_err(|_| XmlError::NotUtf8)?
        .to_owned();
    if !is_xml_name(&name) {
        return Err(XmlError::Malformed {
            position,
            reason: format!("invalid element name {name:?}"),
        });
    }
    Ok(name)
}

/// A pragmatic subset of the XML `Name` production: ASCII rules exactly, any non-ASCII
/// letter accepted.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let start_ok = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':' || !c.is_ascii();
    start_ok(first) && chars.all(|c| start_ok(c) || c.is_ascii_digit() || c == '-' || c == '.')
}

fn resolve_reference(r: &quick_xml::events::BytesRef<'_>, position: u64) -> Result<char, XmlError> {
    if r.is_char_ref() {
        let c = r
            .resolve_char_ref()
            .map_err(|_| XmlError::InvalidChar)?
            .ok_or_else(|| malformed(position, "bad character reference"))?;
        return if is_xml_char(c) {
            Ok(c)
        } else {
            Err(XmlError::InvalidChar)
        };
    }
    let name = r.decode().map_err(|e| malformed(position, e))?;
    match name.as_ref() {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(XmlError::UnknownEntity(other.to_owned())),
    }
}

fn push_checked(value: &mut String, s: &str) -> Result<(), XmlError> {
    if !s.chars().all(is_xml_char) {
        return Err(XmlError::InvalidChar);
    }
    value.push_str(s);
    Ok(())
}

/// XML 1.0 `Char`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// XML `S`.
fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Encodes `params` the way the real server writes responses (§2.1): no declaration, `<xml>`,
/// one child per line, text in CDATA (a `]]>` inside a value split across two sections),
/// integers bare, `</xml>`.
///
/// Names must be XML names made of `[A-Za-z0-9_]` (they come from our code, not the network).
/// Values should only hold XML 1.0 characters: decoded values always do, and the `fields`
/// validators refuse control characters in the fields they check.
pub fn encode(params: &Params) -> String {
    let mut out = String::with_capacity(
        16 + params
            .iter()
            .map(|(k, v)| 2 * k.len() + v.len() + 18)
            .sum::<usize>(),
    );
    out.push_str("<xml>\n");
    for (name, value, kind) in params.iter_with_kind() {
        debug_assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "field name {name:?} is not [A-Za-z0-9_]"
        );
        out.push('<');
        out.push_str(name);
        out.push('>');
        match kind {
            ValueKind::Int if value.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
                out.push_str(value)
            }
            // An "integer" made by a Display impl we do not control: escape rather than
            // trust it.
            ValueKind::Int => escape_into(&mut out, value),
            ValueKind::Text => {
                out.push_str("<![CDATA[");
                out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
                out.push_str("]]>");
            }
        }
        out.push_str("</");
        out.push_str(name);
        out.push_str(">\n");
    }
    out.push_str("</xml>");
    out
}

fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
}

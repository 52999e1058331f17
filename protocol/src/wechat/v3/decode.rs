//! Decoding request and answer bodies.
//!
//! **Strict** ([`strict`], the server side): the body is checked against a [`Field`] table
//! before serde sees it, so every defect is found with its JSON pointer and the field's name as
//! the platform's documentation gives it, and answered as the platform does (spec §1.7):
//!
//! | defect | [`DecodeError`] | platform message |
//! |---|---|---|
//! | empty, not UTF-8, not JSON, not an object | `Empty`, `NotUtf8`, `Malformed`, `NotAnObject` | `请求体JSON格式错误` (UNCONFIRMED) |
//! | a member the API does not define | `UnknownFields` | `请求中含有未在API文档中定义的参数`, `value` = the pointers |
//! | JSON `null` anywhere | `Null` | `…的值不能为null` |
//! | a string where a number belongs, … | `WrongType` | `…类型校验失败` |
//! | a required member absent | `Missing` | `输入源“/body/appid”映射到字段“公众号ID”必填性规则校验失败，此字段为必填项` |
//! | length, charset, enum, range, cross-field | `Rule` | `…字符串规则校验失败，字节数 130，大于最大值 127` and similar |
//!
//! When several defects are present the first of that list wins (unknown members are all
//! listed); within one kind, the first in member-name order (objects are walked sorted by key).
//!
//! **Lenient** ([`lenient`], the client side): plain serde, unknown answer members ignored, so
//! an SDK keeps working when the platform adds fields.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{ErrorBody, ErrorCode, ErrorDetail, Location};

/// What a member's value must be.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A JSON string, at most `max_bytes` UTF-8 bytes, obeying `rule`.
    String {
        /// The documented `string(n)` length, counted in bytes as the platform does.
        max_bytes: usize,
        /// Further constraint.
        rule: StringRule,
    },
    /// A JSON integer in `min..=max`.
    Integer {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A JSON `true`/`false`.
    Boolean,
    /// A JSON object with these members.
    Object(&'static [Field]),
    /// A JSON array of at most `max_items` values of `item`.
    Array {
        /// The element kind.
        item: &'static Kind,
        /// Most elements accepted.
        max_items: usize,
    },
}

/// A string value's constraint beyond its length.
#[derive(Debug, Clone, Copy)]
pub enum StringRule {
    /// Any text.
    Any,
    /// Every character passes the test; `pattern` is the regular expression shown in the
    /// error message.
    Charset {
        /// The test.
        allowed: fn(char) -> bool,
        /// The rule as a regular expression, for the message.
        pattern: &'static str,
    },
    /// One of the listed values.
    OneOf(&'static [&'static str]),
}

/// One member of an object: its wire name, its documented (Chinese) name, whether it is
/// required, and its kind.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The JSON member name.
    pub name: &'static str,
    /// The name the platform's messages use (`公众号ID`, `退款金额`).
    pub label: &'static str,
    /// Whether it must be present.
    pub required: bool,
    /// What its value must be.
    pub kind: Kind,
}

impl Field {
    /// A required member.
    #[must_use]
    pub const fn required(name: &'static str, label: &'static str, kind: Kind) -> Self {
        Self {
            name,
            label,
            required: true,
            kind,
        }
    }

    /// An optional member.
    #[must_use]
    pub const fn optional(name: &'static str, label: &'static str, kind: Kind) -> Self {
        Self {
            name,
            label,
            required: false,
            kind,
        }
    }
}

/// A string of at most `max_bytes` bytes, any text.
#[must_use]
pub const fn text(max_bytes: usize) -> Kind {
    Kind::String {
        max_bytes,
        rule: StringRule::Any,
    }
}

/// One of the listed values.
#[must_use]
pub const fn one_of(max_bytes: usize, values: &'static [&'static str]) -> Kind {
    Kind::String {
        max_bytes,
        rule: StringRule::OneOf(values),
    }
}

/// An amount in fen: 1 to 2^53 − 1 (the largest integer every JSON client keeps exact).
pub const AMOUNT: Kind = Kind::Integer {
    min: 1,
    max: 9_007_199_254_740_991,
};

/// How a value broke its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Longer than the documented byte length.
    TooLong {
        /// The value's UTF-8 length.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside the allowed set.
    Pattern(&'static str),
    /// Not one of the allowed values.
    NotOneOf(&'static [&'static str]),
    /// An integer below the minimum.
    BelowMinimum {
        /// The minimum.
        min: i64,
    },
    /// An integer above the maximum.
    AboveMaximum {
        /// The maximum.
        max: i64,
    },
    /// More array elements than allowed.
    TooManyItems {
        /// The array's length.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A rule across fields (one of two required, sums, currency), in the platform's words.
    Business(String),
}

/// Why a body was refused by [`strict`]. Pointers are JSON pointers into the body
/// (`/amount/refund`); [`DecodeError::to_error_body`] prefixes them with the location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// No body where one is required.
    #[error("the request body is empty")]
    Empty,
    /// The body is not UTF-8.
    #[error("the request body is not UTF-8")]
    NotUtf8,
    /// Not JSON.
    #[error("the request body is not valid JSON: {0}")]
    Malformed(String),
    /// JSON, but not an object.
    #[error("the request body is not a JSON object")]
    NotAnObject,
    /// Members the API does not define (all of them, in member-name order, at most 32).
    #[error("undefined parameters: {}", .0.join(", "))]
    UnknownFields(Vec<String>),
    /// A JSON `null`.
    #[error("{pointer} is null")]
    Null {
        /// Where.
        pointer: String,
        /// The field's documented name.
        label: &'static str,
    },
    /// A value of the wrong JSON type.
    #[error("{pointer} must be {expected}")]
    WrongType {
        /// Where.
        pointer: String,
        /// The field's documented name.
        label: &'static str,
        /// `string`, `integer`, `boolean`, `object` or `array`.
        expected: &'static str,
    },
    /// A required member is absent.
    #[error("{pointer} is required")]
    Missing {
        /// Where.
        pointer: String,
        /// The field's documented name.
        label: &'static str,
    },
    /// A value breaks its rule.
    #[error("{pointer} breaks its rule: {violation:?}")]
    Rule {
        /// Where.
        pointer: String,
        /// The field's documented name.
        label: &'static str,
        /// The refused value (strings and integers; `null` otherwise).
        value: Value,
        /// What is wrong.
        violation: Violation,
    },
}

/// Most unknown members listed in one error (bounds the answer for hostile bodies).
pub const MAX_UNKNOWN_LISTED: usize = 32;

impl DecodeError {
    /// The platform's answer to this defect: 400 PARAM_ERROR with the message and `detail`
    /// shapes of spec §1.7, pointers prefixed with `/<location>` (`/body/appid`).
    #[must_use]
    pub fn to_error_body(&self, location: Location) -> ErrorBody {
        let at = |pointer: &str| format!("/{}{pointer}", location.as_str());
        let detail = |value: Option<Value>| ErrorDetail {
            location: Some(location.as_str().to_owned()),
            value,
            ..ErrorDetail::default()
        };
        let param = |message: String, detail: ErrorDetail| {
            ErrorBody::new(&ErrorCode::ParamError, &message).with_detail(detail)
        };
        match self {
            DecodeError::Empty
            | DecodeError::NotUtf8
            | DecodeError::Malformed(_)
            | DecodeError::NotAnObject => param(
                "请求体JSON格式错误".to_owned(),
                ErrorDetail {
                    issue: Some(self.to_string()),
                    ..detail(None)
                },
            ),
            DecodeError::UnknownFields(pointers) => param(
                "请求中含有未在API文档中定义的参数".to_owned(),
                detail(Some(Value::Array(
                    pointers.iter().map(|p| Value::String(at(p))).collect(),
                ))),
            ),
            DecodeError::Null { pointer, label } => param(
                format!("输入源“{}”映射到字段“{label}”的值不能为null", at(pointer)),
                ErrorDetail {
                    field: Some(at(pointer)),
                    ..detail(Some(Value::Null))
                },
            ),
            DecodeError::WrongType {
                pointer,
                label,
                expected,
            } => param(
                format!(
                    "输入源“{}”映射到值字段“{label}”类型校验失败，应为{expected}",
                    at(pointer)
                ),
                ErrorDetail {
                    field: Some(at(pointer)),
                    ..detail(None)
                },
            ),
            DecodeError::Missing { pointer, label } => param(
                format!(
                    "输入源“{}”映射到字段“{label}”必填性规则校验失败，此字段为必填项",
                    at(pointer)
                ),
                detail(Some(Value::String(String::new()))),
            ),
            DecodeError::Rule {
                pointer,
                label,
                value,
                violation,
            } => {
                let what = match violation {
                    Violation::TooLong { bytes, max } => {
                        format!("字符串规则校验失败，字节数 {bytes}，大于最大值 {max}")
                    }
                    Violation::Pattern(pattern) => {
                        format!("字符串规则校验失败，与正则表达式 {pattern} 不匹配")
                    }
                    Violation::NotOneOf(values) => {
                        format!("枚举值校验失败，取值应为 {}", values.join("、"))
                    }
                    Violation::BelowMinimum { min } => {
                        format!("整数规则校验失败，小于最小值 {min}")
                    }
                    Violation::AboveMaximum { max } => {
                        format!("整数规则校验失败，大于最大值 {max}")
                    }
                    Violation::TooManyItems { count, max } => {
                        format!("数组规则校验失败，元素个数 {count}，大于最大值 {max}")
                    }
                    Violation::Business(issue) => format!("规则校验失败，{issue}"),
                };
                param(
                    format!("输入源“{}”映射到值字段“{label}”{what}", at(pointer)),
                    ErrorDetail {
                        field: Some(at(pointer)),
                        ..detail(Some(value.clone()))
                    },
                )
            }
        }
    }
}

/// Findings of one walk, the first of each kind.
#[derive(Default)]
struct Findings {
    unknown: Vec<String>,
    null: Option<DecodeError>,
    wrong_type: Option<DecodeError>,
    missing: Option<DecodeError>,
    rule: Option<DecodeError>,
}

impl Findings {
    fn into_error(self) -> Option<DecodeError> {
        if !self.unknown.is_empty() {
            return Some(DecodeError::UnknownFields(self.unknown));
        }
        self.null.or(self.wrong_type).or(self.missing).or(self.rule)
    }
}

fn note(slot: &mut Option<DecodeError>, error: DecodeError) {
    if slot.is_none() {
        *slot = Some(error);
    }
}

fn walk_object(map: &Map<String, Value>, fields: &[Field], pointer: &str, found: &mut Findings) {
    for (key, value) in map {
        let here = format!("{pointer}/{}", escape_pointer(key));
        match fields.iter().find(|f| f.name == key) {
            None => {
                if found.unknown.len() < MAX_UNKNOWN_LISTED {
                    found.unknown.push(here);
                }
            }
            Some(field) => walk_value(value, &field.kind, field.label, &here, found),
        }
    }
    for field in fields.iter().filter(|f| f.required) {
        if !map.contains_key(field.name) {
            note(
                &mut found.missing,
                DecodeError::Missing {
                    pointer: format!("{pointer}/{}", field.name),
                    label: field.label,
                },
            );
        }
    }
}

fn walk_value(
    value: &Value,
    kind: &Kind,
    label: &'static str,
    pointer: &str,
    found: &mut Findings,
) {
    let wrong = |expected| DecodeError::WrongType {
        pointer: pointer.to_owned(),
        label,
        expected,
    };
    let rule = |value: Value, violation| DecodeError::Rule {
        pointer: pointer.to_owned(),
        label,
        value,
        violation,
    };
    match (kind, value) {
        (_, Value::Null) => note(
            &mut found.null,
            DecodeError::Null {
                pointer: pointer.to_owned(),
                label,
            },
        ),
        (Kind::String { max_bytes, rule: r }, Value::String(s)) => {
            let violation = if s.len() > *max_bytes {
                Some(Violation::TooLong {
                    bytes: s.len(),
                    max: *max_bytes,
                })
            } else {
                match r {
                    StringRule::Any => None,
                    StringRule::Charset { allowed, pattern } => {
                        (!s.chars().all(allowed)).then_some(Violation::Pattern(pattern))
                    }
                    StringRule::OneOf(values) => {
                        (!values.contains(&s.as_str())).then_some(Violation::NotOneOf(values))
                    }
                }
            };
            if let Some(v) = violation {
                note(&mut found.rule, rule(value.clone(), v));
            }
        }
        (Kind::Integer { min, max }, Value::Number(n)) => match n.as_i64() {
            Some(i) if i < *min => note(
                &mut found.rule,
                rule(value.clone(), Violation::BelowMinimum { min: *min }),
            ),
            Some(i) if i > *max => note(
                &mut found.rule,
                rule(value.clone(), Violation::AboveMaximum { max: *max }),
            ),
            Some(_) => {}
            // A float, or beyond i64: not an integer the platform accepts.
            None if n.is_u64() => note(
                &mut found.rule,
                rule(value.clone(), Violation::AboveMaximum { max: *max }),
            ),
            None => note(&mut found.wrong_type, wrong("integer")),
        },
        (Kind::Boolean, Value::Bool(_)) => {}
        (Kind::Object(fields), Value::Object(map)) => walk_object(map, fields, pointer, found),
        (Kind::Array { item, max_items }, Value::Array(items)) => {
            if items.len() > *max_items {
                note(
                    &mut found.rule,
                    rule(
                        Value::Null,
                        Violation::TooManyItems {
                            count: items.len(),
                            max: *max_items,
                        },
                    ),
                );
            }
            for (i, element) in items.iter().enumerate() {
                walk_value(element, item, label, &format!("{pointer}/{i}"), found);
            }
        }
        (Kind::String { .. }, _) => note(&mut found.wrong_type, wrong("string")),
        (Kind::Integer { .. }, _) => note(&mut found.wrong_type, wrong("integer")),
        (Kind::Boolean, _) => note(&mut found.wrong_type, wrong("boolean")),
        (Kind::Object(_), _) => note(&mut found.wrong_type, wrong("object")),
        (Kind::Array { .. }, _) => note(&mut found.wrong_type, wrong("array")),
    }
}

/// RFC 6901 escaping of one pointer segment.
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Checks `body` against `fields` and decodes it into `T`.
///
/// `T` must accept every body the table accepts (the tests of each message type check this
/// with full and minimal bodies); if it does not, the serde error is reported as
/// [`DecodeError::Malformed`] rather than a panic.
///
/// # Errors
/// [`DecodeError`]; never panics on any input.
pub fn strict<T: DeserializeOwned>(
    body: &[u8],
    fields: &'static [Field],
) -> Result<T, DecodeError> {
    let value = parse_object(body)?;
    check(&value, fields)?;
    serde_json::from_value(value).map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// Parses a body into a JSON object value (the first checks of [`strict`]).
///
/// # Errors
/// [`DecodeError::Empty`], [`DecodeError::NotUtf8`], [`DecodeError::Malformed`],
/// [`DecodeError::NotAnObject`].
pub fn parse_object(body: &[u8]) -> Result<Value, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !value.is_object() {
        return Err(DecodeError::NotAnObject);
    }
    Ok(value)
}

/// Checks a parsed object against `fields`: unknown members, nulls, types, required members and
/// single-field rules.
///
/// # Errors
/// The highest-ranked [`DecodeError`] found.
pub fn check(value: &Value, fields: &'static [Field]) -> Result<(), DecodeError> {
    let Value::Object(map) = value else {
        return Err(DecodeError::NotAnObject);
    };
    let mut found = Findings::default();
    walk_object(map, fields, "", &mut found);
    found.into_error().map_or(Ok(()), Err)
}

/// Checks one string parameter outside the body (a query or path parameter) against its rule.
///
/// # Errors
/// [`DecodeError::Missing`] for `None`, [`DecodeError::Rule`] for a broken rule; pointers are
/// `/<name>`, to be rendered with [`Location::Query`] or [`Location::UriTemplate`].
pub fn check_parameter(
    name: &'static str,
    label: &'static str,
    value: Option<&str>,
    kind: &Kind,
) -> Result<(), DecodeError> {
    let pointer = format!("/{name}");
    let Some(value) = value else {
        return Err(DecodeError::Missing { pointer, label });
    };
    let mut found = Findings::default();
    walk_value(
        &Value::String(value.to_owned()),
        kind,
        label,
        &pointer,
        &mut found,
    );
    found.into_error().map_or(Ok(()), Err)
}

/// Why a client could not read an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the answer does not have the expected shape: {0}")]
pub struct LenientError(pub String);

/// Decodes an answer as a client: unknown members ignored, missing optional ones defaulted.
///
/// # Errors
/// [`LenientError`] for bodies that are not JSON or lack a required member.
pub fn lenient<T: DeserializeOwned>(body: &[u8]) -> Result<T, LenientError> {
    serde_json::from_slice(body).map_err(|e| LenientError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        name: String,
        amount: Amount,
        tags: Option<Vec<String>>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Amount {
        total: u64,
        currency: Option<String>,
    }

    const AMOUNT_FIELDS: &[Field] = &[
        Field::required("total", "总金额", AMOUNT),
        Field::optional("currency", "货币类型", one_of(16, &["CNY"])),
    ];
    const TAG: Kind = Kind::String {
        max_bytes: 4,
        rule: StringRule::Charset {
            allowed: |c| c.is_ascii_lowercase(),
            pattern: "^[a-z]{1,4}$",
        },
    };
    const SAMPLE: &[Field] = &[
        Field::required("name", "名称", text(6)),
        Field::required("amount", "金额", Kind::Object(AMOUNT_FIELDS)),
        Field::optional(
            "tags",
            "标签",
            Kind::Array {
                item: &TAG,
                max_items: 2,
            },
        ),
    ];

    fn decode(body: &str) -> Result<Sample, DecodeError> {
        strict(body.as_bytes(), SAMPLE)
    }

    #[test]
    fn accepts_a_conforming_body() {
        assert_eq!(
            decode(r#"{"name":"退款","amount":{"total":1,"currency":"CNY"},"tags":["ab"]}"#),
            Ok(Sample {
                name: "退款".into(),
                amount: Amount {
                    total: 1,
                    currency: Some("CNY".into())
                },
                tags: Some(vec!["ab".into()]),
            })
        );
    }

    #[test]
    fn each_defect_is_named_with_its_pointer() {
        let cases: Vec<(&str, DecodeError)> = vec![
            ("", DecodeError::Empty),
            (" \n", DecodeError::Empty),
            ("[1]", DecodeError::NotAnObject),
            (
                r#"{"name":"a","amount":{"total":1},"x":1,"amount2":{},"tags":[]}"#,
                DecodeError::UnknownFields(vec!["/amount2".into(), "/x".into()]),
            ),
            (
                r#"{"name":"a","amount":{"total":1,"extra/~":true}}"#,
                DecodeError::UnknownFields(vec!["/amount/extra~1~0".into()]),
            ),
            (
                r#"{"name":"a","amount":{"total":1,"currency":null}}"#,
                DecodeError::Null {
                    pointer: "/amount/currency".into(),
                    label: "货币类型",
                },
            ),
            (
                r#"{"name":"a","amount":{"total":"1"}}"#,
                DecodeError::WrongType {
                    pointer: "/amount/total".into(),
                    label: "总金额",
                    expected: "integer",
                },
            ),
            (
                r#"{"name":"a","amount":{"total":1.5}}"#,
                DecodeError::WrongType {
                    pointer: "/amount/total".into(),
                    label: "总金额",
                    expected: "integer",
                },
            ),
            (
                r#"{"name":"a","amount":[]}"#,
                DecodeError::WrongType {
                    pointer: "/amount".into(),
                    label: "金额",
                    expected: "object",
                },
            ),
            (
                r#"{"amount":{}}"#,
                DecodeError::Missing {
                    pointer: "/amount/total".into(),
                    label: "总金额",
                },
            ),
            (
                r#"{"name":"退款退款退","amount":{"total":1}}"#,
                DecodeError::Rule {
                    pointer: "/name".into(),
                    label: "名称",
                    value: Value::String("退款退款退".into()),
                    violation: Violation::TooLong { bytes: 15, max: 6 },
                },
            ),
            (
                r#"{"name":"a","amount":{"total":0}}"#,
                DecodeError::Rule {
                    pointer: "/amount/total".into(),
                    label: "总金额",
                    value: Value::from(0),
                    violation: Violation::BelowMinimum { min: 1 },
                },
            ),
            (
                r#"{"name":"a","amount":{"total":18446744073709551615}}"#,
                DecodeError::Rule {
                    pointer: "/amount/total".into(),
                    label: "总金额",
                    value: Value::from(u64::MAX),
                    violation: Violation::AboveMaximum {
                        max: 9_007_199_254_740_991,
                    },
                },
            ),
            (
                r#"{"name":"a","amount":{"total":1,"currency":"USD"}}"#,
                DecodeError::Rule {
                    pointer: "/amount/currency".into(),
                    label: "货币类型",
                    value: Value::String("USD".into()),
                    violation: Violation::NotOneOf(&["CNY"]),
                },
            ),
            (
                r#"{"name":"a","amount":{"total":1},"tags":["ok","A"]}"#,
                DecodeError::Rule {
                    pointer: "/tags/1".into(),
                    label: "标签",
                    value: Value::String("A".into()),
                    violation: Violation::Pattern("^[a-z]{1,4}$"),
                },
            ),
            (
                r#"{"name":"a","amount":{"total":1},"tags":["a","b","c"]}"#,
                DecodeError::Rule {
                    pointer: "/tags".into(),
                    label: "标签",
                    value: Value::Null,
                    violation: Violation::TooManyItems { count: 3, max: 2 },
                },
            ),
        ];
        for (body, error) in cases {
            assert_eq!(decode(body), Err(error), "{body}");
        }
        assert!(matches!(
            decode("{\"name\":"),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(
            strict::<Sample>(&[0x7b, 0xff, 0x7d], SAMPLE),
            Err(DecodeError::NotUtf8)
        );
    }

    #[test]
    fn precedence_unknown_then_null_then_type_then_missing_then_rule() {
        // All five defects at once: the unknown member is reported.
        let all = r#"{"name":"toolongname","amount":{"total":"x","currency":null},"zz":1}"#;
        assert_eq!(
            decode(all),
            Err(DecodeError::UnknownFields(vec!["/zz".into()]))
        );
        let no_unknown = r#"{"name":"toolongname","amount":{"total":"x","currency":null}}"#;
        assert!(matches!(decode(no_unknown), Err(DecodeError::Null { .. })));
        let type_and_missing = r#"{"name":7,"amount":{}}"#;
        assert!(matches!(
            decode(type_and_missing),
            Err(DecodeError::WrongType { .. })
        ));
        let missing_and_rule = r#"{"name":"toolongname"}"#;
        assert!(matches!(
            decode(missing_and_rule),
            Err(DecodeError::Missing { .. })
        ));
    }

    #[test]
    fn error_bodies_match_the_platform_shapes() {
        let missing = DecodeError::Missing {
            pointer: "/appid".into(),
            label: "公众号ID",
        };
        assert_eq!(
            missing.to_error_body(Location::Body).to_json(),
            r#"{"code":"PARAM_ERROR","detail":{"location":"body","value":""},"message":"输入源“/body/appid”映射到字段“公众号ID”必填性规则校验失败，此字段为必填项"}"#
        );
        let unknown = DecodeError::UnknownFields(vec!["/payer/openid".into()]);
        assert_eq!(
            unknown.to_error_body(Location::Body).to_json(),
            r#"{"code":"PARAM_ERROR","detail":{"location":"body","value":["/body/payer/openid"]},"message":"请求中含有未在API文档中定义的参数"}"#
        );
        let long = DecodeError::Rule {
            pointer: "/description".into(),
            label: "商品描述",
            value: Value::String("x".into()),
            violation: Violation::TooLong {
                bytes: 130,
                max: 127,
            },
        };
        assert_eq!(
            long.to_error_body(Location::Body).message,
            "输入源“/body/description”映射到值字段“商品描述”字符串规则校验失败，字节数 130，大于最大值 127"
        );
        let query = check_parameter("mchid", "直连商户号", None, &text(32));
        assert_eq!(
            query.map_err(|e| e.to_error_body(Location::Query).message),
            Err(
                "输入源“/query/mchid”映射到字段“直连商户号”必填性规则校验失败，此字段为必填项"
                    .to_owned()
            )
        );
        let null = DecodeError::Null {
            pointer: "/amount/from".into(),
            label: "退款出资账户及金额",
        };
        assert_eq!(
            null.to_error_body(Location::Body).to_json(),
            r#"{"code":"PARAM_ERROR","detail":{"field":"/body/amount/from","location":"body","value":null},"message":"输入源“/body/amount/from”映射到字段“退款出资账户及金额”的值不能为null"}"#
        );
        let bad_json = DecodeError::Malformed("EOF while parsing".into());
        assert_eq!(
            bad_json.to_error_body(Location::Body).to_json(),
            r#"{"code":"PARAM_ERROR","detail":{"issue":"the request body is not valid JSON: EOF while parsing","location":"body"},"message":"请求体JSON格式错误"}"#
        );
    }

    #[test]
    fn unknown_members_are_bounded() {
        let mut body = String::from("{\"name\":\"a\",\"amount\":{\"total\":1}");
        for i in 0..100 {
            body.push_str(&format!(",\"u{i}\":0"));
        }
        body.push('}');
        match decode(&body) {
            Err(DecodeError::UnknownFields(list)) => assert_eq!(list.len(), MAX_UNKNOWN_LISTED),
            other => unreachable!("{other:?}"),
        }
    }

    #[test]
    fn lenient_ignores_unknown_members() {
        let got: Result<Amount, _> = lenient(br#"{"total":5,"new_field":{"x":[1]}}"#);
        assert_eq!(
            got,
            Ok(Amount {
                total: 5,
                currency: None
            })
        );
        assert!(lenient::<Amount>(b"{}").is_err());
    }
}

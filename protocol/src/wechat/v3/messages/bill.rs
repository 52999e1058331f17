//! `GET /v3/bill/tradebill` and `GET /v3/bill/fundflowbill`: the download address of a bill
//! and its hash.

use serde::{Deserialize, Serialize};

use crate::wechat::v3::decode::{DecodeError, Kind, StringRule, check_parameter, one_of};

/// The answer of both bill endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillResponse {
    /// `SHA1`.
    pub hash_type: String,
    /// Lower-case hex SHA-1 of the uncompressed bill (a gzip download is hashed after
    /// decompressing it).
    pub hash_value: String,
    /// Where to GET the file (signed like every v3 call; valid for 30 s).
    pub download_url: String,
}

/// The hash algorithm of bills.
pub const HASH_TYPE: &str = "SHA1";

/// The `hash_value` of a bill: lower-case hex SHA-1 of its uncompressed bytes.
pub fn sha1_hex(file: &[u8]) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(file))
}

/// The path of the bill download address (`?token=` names the file).
pub const DOWNLOAD_PATH: &str = "/v3/billdownload/file";

/// `bill_date`: `YYYY-MM-DD`.
pub const BILL_DATE: Kind = Kind::String {
    max_bytes: 10,
    rule: StringRule::Charset {
        allowed: |c| c.is_ascii_digit() || c == '-',
        pattern: "^\\d{4}-\\d{2}-\\d{2}$",
    },
};
/// `tar_type`: `GZIP` only.
pub const TAR_TYPE: Kind = one_of(8, &["GZIP"]);
/// `bill_type` of trade bills.
pub const BILL_TYPE: Kind = one_of(8, &["ALL", "SUCCESS", "REFUND"]);
/// `account_type` of fund-flow bills.
pub const ACCOUNT_TYPE: Kind = one_of(16, &["BASIC", "OPERATION", "FEES"]);

/// The query of `GET /v3/bill/tradebill`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillQuery {
    /// `YYYY-MM-DD`.
    pub bill_date: String,
    /// `ALL` (the default), `SUCCESS` or `REFUND`.
    pub bill_type: String,
    /// `Some("GZIP")` for a gzip file.
    pub tar_type: Option<String>,
}

/// The query of `GET /v3/bill/fundflowbill`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundFlowBillQuery {
    /// `YYYY-MM-DD`.
    pub bill_date: String,
    /// `BASIC` (the default), `OPERATION` or `FEES`.
    pub account_type: String,
    /// `Some("GZIP")` for a gzip file.
    pub tar_type: Option<String>,
}

fn well_formed_date(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn check_date(date: Option<&str>) -> Result<(), DecodeError> {
    check_parameter("bill_date", "账单日期", date, &BILL_DATE)?;
    match date {
        Some(d) if !well_formed_date(d) => Err(DecodeError::Rule {
            pointer: "/bill_date".into(),
            label: "账单日期",
            value: serde_json::Value::String(d.to_owned()),
            violation: crate::wechat::v3::decode::Violation::Pattern("^\\d{4}-\\d{2}-\\d{2}$"),
        }),
        _ => Ok(()),
    }
}

/// The parameters both bill queries share: `bill_date` (required), one enum parameter with a
/// default, and `tar_type`. The first of a repeated name counts; unknown names are ignored.
fn bill_query(
    pairs: &[(String, String)],
    (name, label, kind, default): (&'static str, &'static str, &Kind, &str),
) -> Result<(String, String, Option<String>), DecodeError> {
    let get = |wanted: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == wanted)
            .map(|(_, v)| v.as_str())
    };
    check_date(get("bill_date"))?;
    if let Some(value) = get(name) {
        check_parameter(name, label, Some(value), kind)?;
    }
    if let Some(value) = get("tar_type") {
        check_parameter("tar_type", "压缩类型", Some(value), &TAR_TYPE)?;
    }
    Ok((
        get("bill_date").unwrap_or_default().to_owned(),
        get(name).unwrap_or(default).to_owned(),
        get("tar_type").map(str::to_owned),
    ))
}

impl TradeBillQuery {
    /// Checks and collects the decoded query parameters (`name`, `value` pairs).
    ///
    /// # Errors
    /// [`DecodeError`], to be answered with [`crate::wechat::v3::error::Location::Query`].
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, DecodeError> {
        let (bill_date, bill_type, tar_type) =
            bill_query(pairs, ("bill_type", "账单类型", &BILL_TYPE, "ALL"))?;
        Ok(Self {
            bill_date,
            bill_type,
            tar_type,
        })
    }
}

impl FundFlowBillQuery {
    /// As [`TradeBillQuery::from_pairs`].
    ///
    /// # Errors
    /// [`DecodeError`].
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, DecodeError> {
        let (bill_date, account_type, tar_type) = bill_query(
            pairs,
            ("account_type", "资金账户类型", &ACCOUNT_TYPE, "BASIC"),
        )?;
        Ok(Self {
            bill_date,
            account_type,
            tar_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::v3::decode::Violation;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn trade_bill_query() {
        assert_eq!(
            TradeBillQuery::from_pairs(&pairs(&[("bill_date", "2026-11-30")])),
            Ok(TradeBillQuery {
                bill_date: "2026-11-30".into(),
                bill_type: "ALL".into(),
                tar_type: None
            })
        );
        assert_eq!(
            TradeBillQuery::from_pairs(&pairs(&[
                ("bill_date", "2026-11-30"),
                ("bill_type", "REFUND"),
                ("tar_type", "GZIP")
            ]))
            .map(|q| (q.bill_type, q.tar_type)),
            Ok(("REFUND".into(), Some("GZIP".into())))
        );
        assert_eq!(
            TradeBillQuery::from_pairs(&[]),
            Err(DecodeError::Missing {
                pointer: "/bill_date".into(),
                label: "账单日期"
            })
        );
        assert_eq!(
            TradeBillQuery::from_pairs(&pairs(&[("bill_date", "2026-1-300")])),
            Err(DecodeError::Rule {
                pointer: "/bill_date".into(),
                label: "账单日期",
                value: serde_json::Value::String("2026-1-300".into()),
                violation: Violation::Pattern("^\\d{4}-\\d{2}-\\d{2}$"),
            })
        );
        assert!(matches!(
            TradeBillQuery::from_pairs(&pairs(&[
                ("bill_date", "2026-11-30"),
                ("bill_type", "ALLX")
            ])),
            Err(DecodeError::Rule {
                violation: Violation::NotOneOf(_),
                ..
            })
        ));
    }

    #[test]
    fn sha1_of_a_file() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn fund_flow_bill_query() {
        assert_eq!(
            FundFlowBillQuery::from_pairs(&pairs(&[("bill_date", "2026-11-30")]))
                .map(|q| q.account_type),
            Ok("BASIC".into())
        );
        assert!(matches!(
            FundFlowBillQuery::from_pairs(&pairs(&[
                ("bill_date", "2026-11-30"),
                ("tar_type", "ZIP")
            ])),
            Err(DecodeError::Rule {
                violation: Violation::NotOneOf(&["GZIP"]),
                ..
            })
        ));
    }
}

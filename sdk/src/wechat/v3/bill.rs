//! Bills over API v3: `GET /v3/bill/tradebill` and `GET /v3/bill/fundflowbill` give a
//! download address and the bill's SHA-1; the file at that address is downloaded with a signed
//! request and checked against the hash.
//!
//! The platform does not sign the download's answer (only the answer that gave its address),
//! so the hash is what vouches for the file: a file whose SHA-1 (of the uncompressed bytes,
//! as the platform documents `hash_value`) differs is [`Error::BillHash`], never a bill. The
//! trade bill has v2's format, so it parses into the same [`Bill`] and feeds
//! [`crate::reconcile`] ([`crate::reconcile::wechat_v3_records`] speaks v3's refund statuses).

use paysandbox_protocol::wechat::bill::{Bill, BillDate, BillType, gunzip, is_gzip, parse_bill};
use paysandbox_protocol::wechat::v3::decode::lenient;
use paysandbox_protocol::wechat::v3::messages::bill::{HASH_TYPE, sha1_hex};
use paysandbox_protocol::wechat::v3::messages::{BillResponse, FundFlowBillQuery, TradeBillQuery};
use reqwest::Method;

use super::client::{Client, Received};
use super::error::Error;

/// The largest bill accepted, compressed or not (a busy merchant's day), as the v2 client's.
pub const MAX_BILL_BYTES: usize = crate::wechat::bill::MAX_BILL_BYTES;

/// The account of a fund-flow bill (`account_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundFlowAccount {
    /// `BASIC`: the basic account, where payments arrive (the default).
    Basic,
    /// `OPERATION`: the operation account.
    Operation,
    /// `FEES`: the fees account.
    Fees,
}

impl FundFlowAccount {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            FundFlowAccount::Basic => "BASIC",
            FundFlowAccount::Operation => "OPERATION",
            FundFlowAccount::Fees => "FEES",
        }
    }
}

/// `name=value&…` after `check` accepted the pairs. The values (a date, enum words) need no
/// percent-encoding.
fn query(
    pairs: &[(&str, String)],
    check: impl Fn(&[(String, String)]) -> Result<(), Error>,
) -> Result<String, Error> {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    check(&owned)?;
    Ok(owned
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&"))
}

fn tar_type(pairs: &mut Vec<(&str, String)>, gzip: bool) {
    if gzip {
        pairs.push(("tar_type", "GZIP".to_owned()));
    }
}

impl Client {
    /// Asks for the trade bill of `date` (a Beijing calendar day; from 09:00 the next day,
    /// for three months): its download address and hash. `bill_type` is `All`, `Success` or
    /// `Refund` (v2's `RechargeRefund` has no v3 counterpart and is refused before sending);
    /// with `gzip` the file comes compressed.
    ///
    /// # Errors
    /// [`Error::Api`] with `NO_STATEMENT_EXIST` (no business that day) or
    /// `STATEMENT_CREATING` (not made yet), and every other [`Error`].
    pub async fn trade_bill(
        &self,
        date: BillDate,
        bill_type: BillType,
        gzip: bool,
    ) -> Result<BillResponse, Error> {
        let mut pairs = vec![
            ("bill_date", date.dashed()),
            ("bill_type", bill_type.as_str().to_owned()),
        ];
        tar_type(&mut pairs, gzip);
        let query = query(&pairs, |q| {
            TradeBillQuery::from_pairs(q).map(drop).map_err(Error::from)
        })?;
        self.bill_address(&format!("/v3/bill/tradebill?{query}"))
            .await
    }

    /// Asks for the fund-flow bill of `account` for `date`: its download address and hash.
    ///
    /// # Errors
    /// As [`Client::trade_bill`].
    pub async fn fund_flow_bill(
        &self,
        date: BillDate,
        account: FundFlowAccount,
        gzip: bool,
    ) -> Result<BillResponse, Error> {
        let mut pairs = vec![
            ("bill_date", date.dashed()),
            ("account_type", account.as_str().to_owned()),
        ];
        tar_type(&mut pairs, gzip);
        let query = query(&pairs, |q| {
            FundFlowBillQuery::from_pairs(q)
                .map(drop)
                .map_err(Error::from)
        })?;
        self.bill_address(&format!("/v3/bill/fundflowbill?{query}"))
            .await
    }

    async fn bill_address(&self, path_and_query: &str) -> Result<BillResponse, Error> {
        let answer = self.call(Method::GET, path_and_query, None, 200).await?;
        lenient::<BillResponse>(&answer).map_err(|e| Error::decode(e.to_string()))
    }

    /// Downloads the file at `address.download_url` (a signed GET, as every v3 request),
    /// decompresses it if it is gzip, and checks its SHA-1 against `address.hash_value`; the
    /// uncompressed bytes.
    ///
    /// The request goes to this client's base URL with the address's path and query, so a
    /// sandbox, a proxy or a path prefix in the base URL keeps working and the signed request
    /// never leaves for another host. The answer is not signed by the platform and is not
    /// verified: the hash, from a verified answer, is the check. The address is valid for
    /// 30 s: download it right after asking.
    ///
    /// # Errors
    /// [`Error::BillHash`] when the file does not match; [`Error::Decode`] for a hash type
    /// other than SHA1, an address that is not a URL or a file over [`MAX_BILL_BYTES`];
    /// [`Error::Api`] for the platform's refusals (an expired address is `INVALID_REQUEST`);
    /// transport errors.
    pub async fn download_bill_file(&self, address: &BillResponse) -> Result<Vec<u8>, Error> {
        if !address.hash_type.eq_ignore_ascii_case(HASH_TYPE) {
            return Err(Error::decode(format!(
                "unsupported bill hash_type {:?}",
                address.hash_type
            )));
        }
        let url = reqwest::Url::parse(&address.download_url)
            .map_err(|e| Error::decode(format!("download_url: {e}")))?;
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        self.execute_limited(
            Method::GET,
            &path_and_query,
            None,
            MAX_BILL_BYTES,
            |received| open_file(received, &address.hash_value),
        )
        .await
    }

    /// [`Client::trade_bill`], then [`Client::download_bill_file`], parsed into typed rows
    /// and the summary.
    ///
    /// # Errors
    /// Those of both calls, and [`Error::Decode`] for a file that is not a bill.
    pub async fn download_trade_bill(
        &self,
        date: BillDate,
        bill_type: BillType,
        gzip: bool,
    ) -> Result<Bill, Error> {
        let address = self.trade_bill(date, bill_type, gzip).await?;
        let file = self.download_bill_file(&address).await?;
        let text = String::from_utf8(file).map_err(|_| Error::decode("bill is not UTF-8"))?;
        parse_bill(&text).map_err(|e| Error::decode(format!("bill: {e}")))
    }

    /// [`Client::fund_flow_bill`], then [`Client::download_bill_file`]: the file's text (a
    /// header line, one backtick-prefixed line per movement, the summary header and the
    /// summary).
    ///
    /// # Errors
    /// Those of both calls, and [`Error::Decode`] for a file that is not UTF-8.
    pub async fn download_fund_flow_bill(
        &self,
        date: BillDate,
        account: FundFlowAccount,
        gzip: bool,
    ) -> Result<String, Error> {
        let address = self.fund_flow_bill(date, account, gzip).await?;
        let file = self.download_bill_file(&address).await?;
        String::from_utf8(file).map_err(|_| Error::decode("bill is not UTF-8"))
    }
}

/// A download's answer: the file, uncompressed, if its hash is `expected`.
fn open_file(received: Received, expected: &str) -> Result<Vec<u8>, Error> {
    if received.status != 200 {
        return Err(received.into_error());
    }
    check_file(received.body, expected)
}

/// Decompresses `body` if it is gzip and checks its SHA-1 against `expected`.
pub(crate) fn check_file(body: Vec<u8>, expected: &str) -> Result<Vec<u8>, Error> {
    let file = if is_gzip(&body) {
        gunzip(&body, MAX_BILL_BYTES as u64)
            .map_err(|e| Error::decode(format!("bill gzip stream: {e}")))?
    } else {
        body
    };
    let actual = sha1_hex(&file);
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(Error::BillHash {
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use paysandbox_protocol::wechat::bill::gzip;

    use super::*;

    #[test]
    fn the_hash_is_of_the_uncompressed_file() {
        let text = b"a bill\r\n".to_vec();
        let hash = sha1_hex(&text);
        assert_eq!(check_file(text.clone(), &hash).unwrap(), text);
        assert_eq!(check_file(gzip(&text), &hash).unwrap(), text);
        assert_eq!(
            check_file(text.clone(), &hash.to_uppercase()).unwrap(),
            text
        );
        match check_file(b"a bill\r\r".to_vec(), &hash) {
            Err(Error::BillHash { expected, actual }) => {
                assert_eq!(expected, hash);
                assert_eq!(actual, sha1_hex(b"a bill\r\r"));
            }
            other => panic!("{other:?}"),
        }
        // A gzip file's own hash is not the bill's.
        assert!(matches!(
            check_file(gzip(&text), &sha1_hex(&gzip(&text))),
            Err(Error::BillHash { .. })
        ));
        assert!(matches!(
            check_file(b"\x1f\x8bbroken".to_vec(), &hash),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn account_types() {
        assert_eq!(FundFlowAccount::Basic.as_str(), "BASIC");
        assert_eq!(FundFlowAccount::Operation.as_str(), "OPERATION");
        assert_eq!(FundFlowAccount::Fees.as_str(), "FEES");
    }
}

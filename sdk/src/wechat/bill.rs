//! `POST /pay/downloadbill`: the day's bill as typed rows (spec §7).

use paysandbox_protocol::wechat::bill::{
    Bill, BillDate, BillError, BillType, DownloadBillRequest, gunzip, is_gzip, parse_bill,
};
use paysandbox_protocol::wechat::xml;

use super::client::Client;
use super::error::Error;
use crate::retry;

/// The largest bill body accepted, compressed or not (a busy merchant's day).
pub const MAX_BILL_BYTES: usize = 256 * 1024 * 1024;

impl Client {
    /// Downloads the bill of `date` (a Beijing calendar day; available from 09:00 the next
    /// day, for three months) and parses it into typed rows and its summary. With `gzip` the
    /// platform sends a gzip stream (`tar_type=GZIP`), decoded here.
    ///
    /// No certificate is needed. A day without a successful transaction is
    /// [`Error::NoBill`]; the platform's other refusals are [`Error::BillRefused`] (error
    /// answers are not signed, so they are taken as they come; a bill is not signed either).
    ///
    /// # Errors
    /// [`Error::NoBill`], [`Error::BillRefused`], transport and HTTP errors, and
    /// [`Error::Decode`] for a body that is neither a bill nor an error.
    pub async fn download_bill(
        &self,
        date: BillDate,
        bill_type: BillType,
        gzip: bool,
    ) -> Result<Bill, Error> {
        let build = |nonce_str: String| DownloadBillRequest {
            appid: self.appid().to_owned(),
            mch_id: self.mch_id().to_owned(),
            nonce_str,
            sign_type: self.sign_type_field(),
            bill_date: date,
            bill_type,
            gzip,
        };
        build(Client::new_nonce()).validate()?;
        retry::run(self.retry_policy(), self.clock(), |_| {
            let params = build(Client::new_nonce()).to_params();
            async move {
                let (status, body) = self
                    .post_raw("/pay/downloadbill", params, MAX_BILL_BYTES)
                    .await?;
                read_bill(status, &body)
            }
        })
        .await
    }
}

/// Turns a downloadbill answer into a bill or the error it carries.
fn read_bill(status: u16, body: &[u8]) -> Result<Bill, Error> {
    if status != 200 {
        let end = body.len().min(512);
        return Err(Error::Http {
            status,
            body: String::from_utf8_lossy(body.get(..end).unwrap_or_default()).into_owned(),
        });
    }
    let text = if is_gzip(body) {
        gunzip(body, MAX_BILL_BYTES as u64)
            .map_err(|e| Error::decode(format!("bill gzip stream: {e}")))?
    } else {
        body.to_vec()
    };
    let text = String::from_utf8(text).map_err(|_| Error::decode("bill is not UTF-8"))?;
    if text.trim_start().starts_with('<') {
        let params = xml::decode(text.as_bytes())
            .map_err(|e| Error::decode(format!("downloadbill error answer: {e}")))?;
        let error = BillError::from_params(&params)
            .map_err(|_| Error::decode("an XML answer with return_code other than FAIL"))?;
        return Err(if error.is_no_bill() {
            Error::NoBill
        } else {
            Error::BillRefused(error)
        });
    }
    parse_bill(&text).map_err(|e| Error::decode(format!("bill: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_become_typed_errors() {
        let no_bill = b"<xml><return_code><![CDATA[FAIL]]></return_code>\n<return_msg><![CDATA[No Bill Exist]]></return_msg>\n<error_code><![CDATA[20002]]></error_code>\n</xml>";
        assert!(matches!(read_bill(200, no_bill), Err(Error::NoBill)));
        let creating =
            b"<xml><return_code>FAIL</return_code><return_msg>Bill Creating</return_msg></xml>";
        match read_bill(200, creating) {
            Err(Error::BillRefused(e)) => {
                assert_eq!(e.return_msg, "Bill Creating");
                assert_eq!(e.error_code, None);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_bill(200, b"<xml><return_code>SUCCESS</return_code></xml>"),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            read_bill(502, b"bad gateway"),
            Err(Error::Http { status: 502, .. })
        ));
        assert!(matches!(
            read_bill(200, b"\x1f\x8bnot really"),
            Err(Error::Decode { .. })
        ));
    }
}

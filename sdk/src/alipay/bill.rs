//! The trade bill (spec §8): `alipay.data.dataservice.bill.downloadurl.query`
//! ([`Client::bill_download_url`]) and the download it points at ([`Client::download_bill`],
//! [`Client::download_bill_url`]): a zip of GBK CSVs, parsed into typed rows.

use paysandbox_protocol::alipay::bill::{
    BillDate, BillType, TradeBill, TradeBillError, from_gbk, read_zip,
};
use paysandbox_protocol::alipay::{
    BillDownloadUrlQueryRequest, BillDownloadUrlQueryResponse, BizRequest, SubCode,
};

use super::client::Client;
use super::error::{Error, FieldError};
use super::trade::{biz, shape};
use crate::error::TransportError;

/// The largest bill accepted: the zip, and each CSV in it (a busy merchant's month).
pub const MAX_BILL_BYTES: usize = 256 * 1024 * 1024;

/// How much of an unexpected download body an error keeps.
const BODY_SNIPPET: usize = 512;

impl Client {
    /// Asks for the download URL of a bill (`alipay.data.dataservice.bill.downloadurl.query`):
    /// `bill_type` `trade` (payments and refunds) or `signcustomer` (account movements),
    /// `date` a Beijing day or a past month. The URL works for 30 seconds.
    ///
    /// # Errors
    /// [`Error::NoBill`] for `isp.bill_not_exist` (no business in the period, or not
    /// generated yet: daily bills from 10:00 the next day); `isv.invalid_arguments`
    /// ([`Error::Gateway`]) for today, the future, the current month or a bill older than the
    /// platform keeps; the errors of every call; [`Error::Decode`] for a success without a URL.
    pub async fn bill_download_url(
        &self,
        bill_type: BillType,
        date: BillDate,
    ) -> Result<BillDownloadUrlQueryResponse, Error> {
        let request = BillDownloadUrlQueryRequest {
            bill_type: bill_type.as_str().to_owned(),
            bill_date: date.to_string(),
            smid: None,
        };
        let method = BillDownloadUrlQueryRequest::METHOD;
        let json = self
            .call(method, &biz(&request)?)
            .await
            .map_err(|error| match error {
                Error::Gateway {
                    sub_code: SubCode::IspBillNotExist,
                    ..
                } => Error::NoBill,
                other => other,
            })?;
        let response: BillDownloadUrlQueryResponse =
            serde_json::from_str(&json).map_err(shape(method))?;
        if response
            .bill_download_url
            .as_deref()
            .is_none_or(|url| url.trim().is_empty())
        {
            return Err(Error::decode(format!("{method}: no bill_download_url")));
        }
        Ok(response)
    }

    /// Downloads and parses the trade bill (业务明细) of `date`: asks for the URL, fetches the
    /// zip with this client's HTTP settings, takes the detail CSV out of it, decodes GBK and
    /// parses its rows (payments `交易`, refunds `退款` with negative amounts and their
    /// out_request_no) and header. A link that expires between the two steps is asked for
    /// once more. Feed the rows to [`crate::reconcile::alipay_records`].
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for `signcustomer` (the account bill has other columns: fetch
    /// it through [`Client::bill_download_url`]); [`Error::NoBill`]; the errors of
    /// [`Client::bill_download_url`] and [`Client::download_bill_url`].
    pub async fn download_bill(
        &self,
        bill_type: BillType,
        date: BillDate,
    ) -> Result<TradeBill, Error> {
        if bill_type != BillType::Trade {
            return Err(FieldError::invalid(
                "bill_type",
                "download_bill reads trade bills; fetch signcustomer with bill_download_url",
            )
            .into());
        }
        let mut expired_once = false;
        loop {
            let response = self.bill_download_url(bill_type, date).await?;
            let url = response.bill_download_url.unwrap_or_default();
            match self.download_bill_url(&url).await {
                Err(Error::BillLinkExpired) if !expired_once => expired_once = true,
                result => return result,
            }
        }
    }

    /// Fetches a trade bill from a URL [`Client::bill_download_url`] gave, and parses it.
    ///
    /// # Errors
    /// [`Error::BillLinkExpired`] for the 下载超时 answer of a link older than 30 s;
    /// transport errors; [`Error::Http`] for a status other than 200; [`Error::Decode`] for
    /// a body that is not a bill zip, or a zip without a readable detail CSV.
    pub async fn download_bill_url(&self, url: &str) -> Result<TradeBill, Error> {
        tracing::debug!(%url, "Alipay bill download");
        let mut response = self
            .http()
            .get(url)
            .send()
            .await
            .map_err(TransportError::from_reqwest)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(TransportError::from_reqwest)?
        {
            if body.len() + chunk.len() > MAX_BILL_BYTES {
                return Err(Error::decode(format!(
                    "bill larger than {MAX_BILL_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        read_bill(status, &body)
    }
}

/// Turns a download answer into a bill or the error it stands for.
fn read_bill(status: u16, body: &[u8]) -> Result<TradeBill, Error> {
    let snippet = || {
        let end = body.len().min(BODY_SNIPPET);
        String::from_utf8_lossy(body.get(..end).unwrap_or_default()).into_owned()
    };
    if status != 200 {
        return Err(Error::Http {
            status,
            body: snippet(),
        });
    }
    if !body.starts_with(b"PK\x03\x04") {
        // The expiry page; whether the platform writes it in UTF-8 or GBK is not known.
        let text = std::str::from_utf8(body).map_or_else(|_| from_gbk(body), str::to_owned);
        if text.contains("下载超时") {
            return Err(Error::BillLinkExpired);
        }
        return Err(Error::decode(format!(
            "the bill download is not a zip: {}",
            snippet()
        )));
    }
    read_zip(body, MAX_BILL_BYTES as u64)
        .map_err(|e: TradeBillError| Error::decode(format!("bill zip: {e}")))
}

#[cfg(test)]
mod tests {
    use paysandbox_protocol::alipay::bill::{BIZ_TRADE, TradeBillRow, write_zip};

    use super::*;

    #[test]
    fn download_answers_become_bills_or_typed_errors() {
        let bill = TradeBill {
            account: "20880000000000010156".into(),
            rows: vec![TradeBillRow {
                trade_no: "2023111522001400000000000001".into(),
                out_trade_no: "o-1".into(),
                biz_type: BIZ_TRADE.into(),
                total_amount: 1000,
                receipt_amount: 1000,
                ..TradeBillRow::default()
            }],
            ..TradeBill::default()
        };
        let zip = write_zip("2088000000000001", "20231115", &bill).unwrap();
        assert_eq!(read_bill(200, &zip).unwrap().rows, bill.rows);
        let utf8 = "<html><body>下载超时，请重新下载</body></html>";
        assert!(matches!(
            read_bill(200, utf8.as_bytes()),
            Err(Error::BillLinkExpired)
        ));
        let gbk = paysandbox_protocol::alipay::bill::to_gbk(utf8);
        assert!(matches!(read_bill(200, &gbk), Err(Error::BillLinkExpired)));
        assert!(matches!(
            read_bill(200, b"<html>maintenance</html>"),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            read_bill(200, b"PK\x03\x04broken"),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            read_bill(404, b"not found"),
            Err(Error::Http { status: 404, .. })
        ));
        assert!(Error::BillLinkExpired.is_retryable());
        assert!(!Error::BillLinkExpired.is_outcome_unknown());
        assert!(!Error::NoBill.is_retryable());
    }
}

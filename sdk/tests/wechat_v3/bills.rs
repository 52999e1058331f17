//! Bills: the address answer verified like any other, the download sent signed to the client's
//! own base URL, its unsigned answer accepted only when its SHA-1 (uncompressed) is the
//! address's `hash_value`, and the request checked before it is sent.

use paysandbox_protocol::wechat::bill::{Fee, gzip, write_bill};
use paysandbox_protocol::wechat::v3::identity::IdentityMode;
use paysandbox_protocol::wechat::v3::messages::bill::sha1_hex;
use paysandbox_sdk::wechat::v3::{
    Bill, BillDate, BillRow, BillSummary, BillType, Error, ErrorCode, FundFlowAccount, VerifyError,
};
use serde_json::json;

use crate::support::*;

/// A one-row REFUND bill in the platform's format.
fn bill_text() -> String {
    let rows = vec![BillRow {
        trade_time: "2023-11-15 06:13:20".into(),
        appid: "wx2421b1c4370ec43b".into(),
        mch_id: MCHID.into(),
        transaction_id: "4200000000000000000000000001".into(),
        out_trade_no: "o-1".into(),
        trade_type: "JSAPI".into(),
        trade_state: "REFUND".into(),
        fee_type: "CNY".into(),
        refund_id: "50000000000000000000000000001".into(),
        out_refund_no: "r-1".into(),
        settlement_refund_fee: 250,
        refund_fee: 250,
        refund_type: "ORIGINAL".into(),
        refund_status: "SUCCESS".into(),
        fee: Fee::from_fen(-2),
        rate: "0.60%".into(),
        ..BillRow::default()
    }];
    let summary = BillSummary::of(&rows);
    write_bill(BillType::Refund, &Bill { rows, summary })
}

fn day() -> BillDate {
    BillDate::new(2023, 11, 15).unwrap()
}

/// The address answer for `file` at a host that is not the platform's base URL (the client
/// must still send the download to its own base URL).
fn address(file: &[u8], token: &str) -> Answer {
    Answer::json(
        200,
        json!({
            "hash_type": "SHA1",
            "hash_value": sha1_hex(file),
            "download_url": format!("https://api.mch.weixin.qq.com/v3/billdownload/file?token={token}"),
        }),
    )
}

/// The file as the platform sends it: 200, no signature headers.
fn file(body: Vec<u8>) -> Answer {
    Answer {
        status: 200,
        body,
        signing: Signing::Unsigned,
    }
}

#[tokio::test]
async fn a_trade_bill_is_asked_for_downloaded_hash_checked_and_parsed() {
    let bill = bill_text();
    let platform = Platform::start(IdentityMode::Certificates).await;
    let client = platform.certificate_client();
    // gzip: the hash is of the uncompressed bill.
    platform.script([address(bill.as_bytes(), "T1"), file(gzip(bill.as_bytes()))]);
    let got = client
        .download_trade_bill(day(), BillType::Refund, true)
        .await
        .unwrap();
    assert_eq!(got.rows.len(), 1);
    assert_eq!(got.rows[0].out_refund_no, "r-1");
    assert_eq!(got.rows[0].refund_fee, 250);
    assert_eq!(got.summary.settlement_refund_fee, 250);
    let seen = platform.seen();
    let urls: Vec<&str> = seen.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "/v3/bill/tradebill?bill_date=2023-11-15&bill_type=REFUND&tar_type=GZIP",
            "/v3/billdownload/file?token=T1",
        ]
    );
    assert!(seen.iter().all(|s| s.method == "GET" && s.body.is_empty()));

    // The fund-flow bill, plain: its text.
    let text = "记账时间,微信支付业务单号\r\n`2023-11-15 06:13:20,`4200\r\n";
    platform.script([address(text.as_bytes(), "F1"), file(text.into())]);
    let got = client
        .download_fund_flow_bill(day(), FundFlowAccount::Operation, false)
        .await
        .unwrap();
    assert_eq!(got, text);
    assert_eq!(
        platform.seen()[2].url,
        "/v3/bill/fundflowbill?bill_date=2023-11-15&account_type=OPERATION"
    );
}

#[tokio::test]
async fn a_file_that_does_not_match_its_hash_is_refused() {
    let bill = bill_text();
    let platform = Platform::start(IdentityMode::PublicKey).await;
    let client = platform.public_key_client();
    // One amount changed on the way.
    let tampered = bill.replace("`2.50,`0.00,`ORIGINAL", "`25.0,`0.00,`ORIGINAL");
    platform.script([
        address(bill.as_bytes(), "T2"),
        file(tampered.clone().into()),
    ]);
    match client
        .download_trade_bill(day(), BillType::All, false)
        .await
    {
        Err(Error::BillHash { expected, actual }) => {
            assert_eq!(expected, sha1_hex(bill.as_bytes()));
            assert_eq!(actual, sha1_hex(tampered.as_bytes()));
        }
        other => panic!("{other:?}"),
    }
    // A hash of the gzip stream rather than of the bill does not match either.
    let compressed = gzip(bill.as_bytes());
    platform.script([address(&compressed, "T3"), file(compressed.clone())]);
    assert!(matches!(
        client.download_trade_bill(day(), BillType::All, true).await,
        Err(Error::BillHash { .. })
    ));
    // A hash type the client cannot check: nothing is downloaded.
    platform.script([Answer::json(
        200,
        json!({"hash_type": "MD5", "hash_value": "00", "download_url": "https://x/v3/billdownload/file?token=T4"}),
    )]);
    assert!(matches!(
        client
            .download_trade_bill(day(), BillType::All, false)
            .await,
        Err(Error::Decode { .. })
    ));
    assert_eq!(platform.seen().len(), 5);
}

#[tokio::test]
async fn the_address_answer_must_verify_and_refusals_are_typed() {
    let bill = bill_text();
    let platform = Platform::start(IdentityMode::Certificates).await;
    let client = platform.certificate_client();
    // An unsigned address answer could send the client anywhere with any hash.
    platform.script([address(bill.as_bytes(), "T5").signed(Signing::Unsigned)]);
    assert!(matches!(
        client.trade_bill(day(), BillType::All, false).await,
        Err(Error::Signature(VerifyError::MissingHeader(_)))
    ));
    platform.script([Answer::error(400, "NO_STATEMENT_EXIST", "账单文件不存在")]);
    let error = client
        .trade_bill(day(), BillType::All, false)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::NoStatementExist));
    // An expired address.
    platform.script([Answer::error(400, "INVALID_REQUEST", "下载地址已过期")]);
    let stale = client
        .download_bill_file(&paysandbox_sdk::wechat::v3::BillResponse {
            hash_type: "SHA1".into(),
            hash_value: sha1_hex(b""),
            download_url: format!("{}/v3/billdownload/file?token=old", platform.base_url),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Some(&ErrorCode::InvalidRequest));
    assert_eq!(platform.seen().len(), 3);
    // v2's RECHARGE_REFUND has no v3 bill: refused before sending.
    assert!(matches!(
        client
            .trade_bill(day(), BillType::RechargeRefund, false)
            .await,
        Err(Error::InvalidRequest(_))
    ));
    assert_eq!(platform.seen().len(), 3);
}

//! `GET /v3/bill/tradebill`, `/v3/bill/fundflowbill` and the download address: the trade
//! bill is byte for byte v2's downloadbill of the same day, gzip when asked, the hash is the
//! file's SHA-1, availability follows the injected clock, errors are v3 codes.

use paysandbox_protocol::wechat::bill::{gunzip, is_gzip};
use paysandbox_protocol::wechat::v3::messages::bill::sha1_hex;
use paysandbox_protocol::wechat::xml;

use crate::support::*;

/// T0 is 2023-11-15 06:13:20 in Beijing.
const DAY: &str = "2023-11-15";

/// Two payments and a refund on T0's day (by v3), then the clock moved to 2023-11-16 10:00.
async fn day_of_business() -> Sandbox {
    let sandbox = start().await;
    for (no, fee, ago) in [("v3bill-a", 1000, 3600), ("v3bill-b", 600, 1800)] {
        sandbox
            .admin_post(
                "/admin/wechat/orders",
                json!({"mch_id": MCH, "out_trade_no": no, "total_fee": fee,
                       "paid_seconds_ago": ago}),
            )
            .await;
    }
    let refund = sandbox
        .v3_client()
        .post(REFUNDS, &refund_body("v3bill-a", "v3bill-r", 1000, 250))
        .await;
    assert_eq!(refund.status, 200, "{}", refund.body);
    sandbox.advance(100_000).await;
    sandbox
}

/// v2's downloadbill answer for `DAY` (raw bytes).
async fn v2_bill(sandbox: &Sandbox, bill_type: &str, gzip: bool) -> Vec<u8> {
    let mut params = base();
    params.insert_text("bill_date", "20231115");
    params.insert_text("bill_type", bill_type);
    if gzip {
        params.insert_text("tar_type", "GZIP");
    }
    let response = sandbox
        .https_client(ClientCert::None)
        .post(format!("{}/pay/downloadbill", sandbox.running.api_url))
        .body(xml::encode(&signed(params, KEY)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.bytes().await.unwrap().to_vec()
}

/// Asks for a bill's address and downloads it (both answers verified by the client); the
/// answer's JSON and the file.
async fn fetch(sandbox: &Sandbox, url: &str) -> (Value, Vec<u8>, String) {
    let v3 = sandbox.v3_client();
    let answer = v3.get(url).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json.as_object().unwrap().len(), 3, "{}", answer.body);
    assert_eq!(answer.json["hash_type"], "SHA1");
    let address = answer.json["download_url"].as_str().unwrap();
    let path = address
        .strip_prefix(&sandbox.running.api_url)
        .unwrap_or_else(|| panic!("{address} is not on {}", sandbox.running.api_url));
    assert!(path.starts_with("/v3/billdownload/file?token="), "{path}");
    let file = v3.get(path).await;
    assert_eq!(file.status, 200, "{}", file.body);
    assert!(file.verified_by.is_some());
    let content_type = file.header("content-type").unwrap().to_owned();
    (answer.json, file.bytes, content_type)
}

#[tokio::test]
async fn trade_bill_is_v2s_bill_with_its_hash() {
    let sandbox = day_of_business().await;
    for bill_type in ["ALL", "SUCCESS", "REFUND"] {
        let (answer, file, content_type) = fetch(
            &sandbox,
            &format!("/v3/bill/tradebill?bill_date={DAY}&bill_type={bill_type}"),
        )
        .await;
        assert_eq!(content_type, "text/plain; charset=utf-8");
        assert_eq!(file, v2_bill(&sandbox, bill_type, false).await, "{bill_type}");
        assert_eq!(answer["hash_value"], sha1_hex(&file).as_str());
        let text = String::from_utf8(file).unwrap();
        assert!(text.contains("`v3bill-a"), "{text}");
        assert_eq!(text.contains("`v3bill-r"), bill_type != "SUCCESS", "{text}");
    }
    // bill_type defaults to ALL.
    let (_, default, _) = fetch(&sandbox, &format!("/v3/bill/tradebill?bill_date={DAY}")).await;
    assert_eq!(default, v2_bill(&sandbox, "ALL", false).await);
}

#[tokio::test]
async fn gzip_when_asked_and_the_hash_is_of_the_gzip_file() {
    let sandbox = day_of_business().await;
    let (answer, file, content_type) = fetch(
        &sandbox,
        &format!("/v3/bill/tradebill?bill_date={DAY}&tar_type=GZIP"),
    )
    .await;
    assert_eq!(content_type, "application/x-gzip");
    assert!(is_gzip(&file));
    assert_eq!(answer["hash_value"], sha1_hex(&file).as_str());
    assert_eq!(file, v2_bill(&sandbox, "ALL", true).await);
    assert_eq!(
        gunzip(&file, 1 << 20).unwrap(),
        v2_bill(&sandbox, "ALL", false).await
    );
}

#[tokio::test]
async fn fund_flow_bill_of_the_basic_account() {
    let sandbox = day_of_business().await;
    let (answer, file, _) = fetch(&sandbox, &format!("/v3/bill/fundflowbill?bill_date={DAY}")).await;
    assert_eq!(answer["hash_value"], sha1_hex(&file).as_str());
    let text = String::from_utf8(file).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(lines[0].starts_with("记账时间,微信支付业务单号,资金流水单号,业务名称"));
    // v3bill-a: 10.00 in, fee 0.06 out; v3bill-b: 6.00 in, 0.04 out; the refund: 2.50 out,
    // its fee 0.02 back; plus whatever the demo data paid that day, so check our lines.
    let ours: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.ends_with("`v3bill-a") || l.ends_with("`v3bill-b") || l.ends_with("`v3bill-r"))
        .collect();
    assert_eq!(ours.len(), 6, "{text}");
    assert!(ours[0].contains(",`交易,`交易,`收入,`10.00,"), "{}", ours[0]);
    assert!(ours[1].contains(",`手续费,`扣除交易手续费,`支出,`0.06,"), "{}", ours[1]);
    assert!(text.contains(",`退款,`退款,`支出,`2.50,"), "{text}");
    assert!(lines.iter().any(|l| *l == "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"));
    // The other accounts never move.
    sandbox
        .v3_client()
        .get(&format!("/v3/bill/fundflowbill?bill_date={DAY}&account_type=OPERATION"))
        .await
        .assert_error(400, "NO_STATEMENT_EXIST");
}

#[tokio::test]
async fn availability_and_errors() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let trade = |date: &str| format!("/v3/bill/tradebill?bill_date={date}");
    // Today: being made; tomorrow and more than three months back: out of range.
    v3.get(&trade(DAY)).await.assert_error(400, "STATEMENT_CREATING");
    v3.get(&format!("/v3/bill/fundflowbill?bill_date={DAY}"))
        .await
        .assert_error(400, "STATEMENT_CREATING");
    v3.get(&trade("2023-11-16")).await.assert_error(400, "PARAM_ERROR");
    // 2023-11-16 08:00: still being made; 09:00: there.
    sandbox.advance(92_800).await;
    v3.get(&trade(DAY)).await.assert_error(400, "STATEMENT_CREATING");
    sandbox.advance(3_600).await;
    assert_eq!(v3.get(&trade(DAY)).await.status, 200);
    v3.get(&trade("2023-11-13")).await.assert_error(400, "NO_STATEMENT_EXIST");
    v3.get(&trade("2023-08-15")).await.assert_error(400, "PARAM_ERROR");
    // A day with payments but no refund has no REFUND bill.
    v3.get(&format!("{}&bill_type=REFUND", trade("2023-11-13")))
        .await
        .assert_error(400, "NO_STATEMENT_EXIST");
    // Parameters.
    let missing = v3.get("/v3/bill/tradebill").await;
    missing.assert_error(400, "PARAM_ERROR");
    for bad in [
        trade("20231115"),
        format!("{}&bill_type=RECHARGE_REFUND", trade(DAY)),
        format!("{}&tar_type=ZIP", trade(DAY)),
        format!("/v3/bill/fundflowbill?bill_date={DAY}&account_type=ALL"),
        "/v3/billdownload/file?token=nope".to_owned(),
        "/v3/billdownload/file".to_owned(),
    ] {
        v3.get(&bad).await.assert_error(400, "PARAM_ERROR");
    }
    // The download answers what the address would: a file no longer there is refused.
    v3.get("/v3/billdownload/file?token=TRADE.20231113.ALL.RAW")
        .await
        .assert_error(400, "NO_STATEMENT_EXIST");
    // Unsigned: refused like every v3 call.
    let unsigned = v3
        .send(
            reqwest::Method::GET,
            "/v3/billdownload/file?token=TRADE.20231115.ALL.RAW",
            Vec::new(),
            Extra {
                authorization: Some(String::new()),
                ..Extra::default()
            },
        )
        .await;
    unsigned.assert_error(401, "SIGN_ERROR");
}

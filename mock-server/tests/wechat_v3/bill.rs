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

/// The path part of a download address, checked to point at the sandbox.
fn download_path<'a>(sandbox: &Sandbox, answer: &'a Value) -> &'a str {
    let address = answer["download_url"].as_str().unwrap();
    let path = address
        .strip_prefix(&sandbox.running.api_url)
        .unwrap_or_else(|| panic!("{address} is not on {}", sandbox.running.api_url));
    assert!(path.starts_with("/v3/billdownload/file?token="), "{path}");
    path
}

/// Asks for a bill's address (a signed answer, verified) and downloads it (unsigned: the
/// client asserts it carries no signature); the answer's JSON, the file and its type.
async fn fetch(sandbox: &Sandbox, url: &str) -> (Value, Vec<u8>, String) {
    let v3 = sandbox.v3_client();
    let answer = v3.get(url).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.verified_by.is_some());
    assert_eq!(answer.json.as_object().unwrap().len(), 3, "{}", answer.body);
    assert_eq!(answer.json["hash_type"], "SHA1");
    let file = v3.download(download_path(sandbox, &answer.json)).await;
    assert_eq!(file.status, 200, "{}", file.body);
    assert!(file.header("request-id").is_some());
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
        assert_eq!(
            file,
            v2_bill(&sandbox, bill_type, false).await,
            "{bill_type}"
        );
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
async fn gzip_when_asked_and_the_hash_is_of_the_uncompressed_bill() {
    let sandbox = day_of_business().await;
    let (answer, file, content_type) = fetch(
        &sandbox,
        &format!("/v3/bill/tradebill?bill_date={DAY}&bill_type=REFUND&tar_type=GZIP"),
    )
    .await;
    assert_eq!(content_type, "application/x-gzip");
    assert!(is_gzip(&file));
    let raw = gunzip(&file, 1 << 20).unwrap();
    assert_eq!(raw, v2_bill(&sandbox, "REFUND", false).await);
    // The platform documents the hash as that of the original bill, gzip decompressed.
    assert_eq!(answer["hash_value"], sha1_hex(&raw).as_str());
    assert_ne!(answer["hash_value"], sha1_hex(&file).as_str());
    // The same address without GZIP gives the raw text with the same hash.
    let (plain_answer, plain, _) = fetch(
        &sandbox,
        &format!("/v3/bill/tradebill?bill_date={DAY}&bill_type=REFUND"),
    )
    .await;
    assert_eq!(plain, raw);
    assert_eq!(plain_answer["hash_value"], answer["hash_value"]);
}

#[tokio::test]
async fn fund_flow_bill_of_the_basic_account() {
    let sandbox = day_of_business().await;
    let (answer, file, content_type) =
        fetch(&sandbox, &format!("/v3/bill/fundflowbill?bill_date={DAY}")).await;
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert_eq!(answer["hash_value"], sha1_hex(&file).as_str());
    let text = String::from_utf8(file).unwrap();
    assert!(text.ends_with("\r\n"), "{text}");
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(
        lines[0],
        "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号"
    );
    let summary_at = lines
        .iter()
        .position(|l| *l == "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额")
        .unwrap();
    assert_eq!(summary_at, lines.len() - 2, "{text}");
    let movements = &lines[1..summary_at];
    // Ours, by 业务凭证号 (the demo data may have paid other orders that day): v3bill-a 10.00
    // in and its 0.06 fee out, v3bill-b 6.00 in and 0.04 out, the refund 2.50 out and the
    // fee on it (0.015, rounded half up: 0.02) given back.
    let ours = |voucher: &str| -> Vec<Vec<&str>> {
        movements
            .iter()
            .filter(|l| l.ends_with(&format!(",`{voucher}")))
            .map(|l| l.split(',').map(|v| v.trim_start_matches('`')).collect())
            .collect()
    };
    let kinds = |rows: &[Vec<&str>]| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|r| (r[4].to_owned(), r[5].to_owned(), r[6].to_owned()))
            .collect()
    };
    let owned = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        kinds(&ours("v3bill-a")),
        [
            owned("交易", "收入", "10.00"),
            owned("扣除交易手续费", "支出", "0.06")
        ]
    );
    assert_eq!(
        kinds(&ours("v3bill-b")),
        [
            owned("交易", "收入", "6.00"),
            owned("扣除交易手续费", "支出", "0.04")
        ]
    );
    let refund = ours("v3bill-r");
    assert_eq!(
        kinds(&refund),
        [
            owned("退款", "支出", "2.50"),
            owned("退还交易手续费", "收入", "0.02")
        ]
    );
    // The refund's business number is its refund_id (50…), its flow numbers derive from it.
    assert!(refund[0][1].starts_with("50"), "{:?}", refund[0]);
    assert_eq!(refund[0][2], format!("{}R", refund[0][1]));
    // The summary adds up the movements, and the running balance ends at income - expense.
    let amount = |s: &str| -> i64 {
        let (y, f) = s.trim_start_matches('-').split_once('.').unwrap();
        let fen = y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap();
        if s.starts_with('-') { -fen } else { fen }
    };
    let (mut income, mut expense, mut income_n, mut expense_n) = (0, 0, 0, 0);
    for line in movements {
        let values: Vec<&str> = line.split(',').map(|v| v.trim_start_matches('`')).collect();
        assert_eq!(values.len(), 11, "{line}");
        if values[5] == "收入" {
            income += amount(values[6]);
            income_n += 1;
        } else {
            expense += amount(values[6]);
            expense_n += 1;
        }
    }
    let last: Vec<&str> = movements.last().unwrap().split(',').collect();
    assert_eq!(amount(last[7].trim_start_matches('`')), income - expense);
    let yuan = |fen: i64| format!("{}.{:02}", fen / 100, fen % 100);
    assert_eq!(
        lines[summary_at + 1],
        format!(
            "`{},`{income_n},`{},`{expense_n},`{}",
            income_n + expense_n,
            yuan(income),
            yuan(expense)
        )
    );
    // The other accounts never move: no bill, while the dates' rules still hold for them.
    let v3 = sandbox.v3_client();
    for account in ["OPERATION", "FEES"] {
        v3.get(&format!(
            "/v3/bill/fundflowbill?bill_date={DAY}&account_type={account}"
        ))
        .await
        .assert_error(400, "NO_STATEMENT_EXIST");
    }
    v3.get("/v3/bill/fundflowbill?bill_date=2023-11-16&account_type=FEES")
        .await
        .assert_error(400, "STATEMENT_CREATING");
}

#[tokio::test]
async fn availability_follows_the_sandbox_clock() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let trade = |date: &str| format!("/v3/bill/tradebill?bill_date={date}");
    // T0's day is today: being made; tomorrow: out of range.
    v3.get(&trade(DAY))
        .await
        .assert_error(400, "STATEMENT_CREATING");
    v3.get(&format!("/v3/bill/fundflowbill?bill_date={DAY}"))
        .await
        .assert_error(400, "STATEMENT_CREATING");
    v3.get(&trade("2023-11-16"))
        .await
        .assert_error(400, "INVALID_REQUEST");
    // 2023-11-16 08:59:59: still being made; 09:00: there (the demo data paid that day).
    sandbox.advance(96_399).await;
    v3.get(&trade(DAY))
        .await
        .assert_error(400, "STATEMENT_CREATING");
    sandbox.advance(1).await;
    let (_, file, _) = fetch(&sandbox, &trade(DAY)).await;
    assert_eq!(file, v2_bill(&sandbox, "ALL", false).await);
    // A day without business, a day with payments but no refund asked for REFUND.
    v3.get(&trade("2023-11-13"))
        .await
        .assert_error(400, "NO_STATEMENT_EXIST");
    v3.get(&format!("{}&bill_type=REFUND", trade(DAY)))
        .await
        .assert_error(400, "NO_STATEMENT_EXIST");
    // Three calendar months back (today is 2023-11-16) is the limit.
    v3.get(&trade("2023-08-16"))
        .await
        .assert_error(400, "NO_STATEMENT_EXIST");
    v3.get(&trade("2023-08-15"))
        .await
        .assert_error(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn parameters_are_checked() {
    let sandbox = start().await;
    let v3 = sandbox.v3_client();
    let missing = v3.get("/v3/bill/tradebill").await;
    let body = missing.assert_error(400, "PARAM_ERROR");
    assert_eq!(body["detail"]["location"], "query", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("/query/bill_date")
    );
    for bad in [
        "/v3/bill/tradebill?bill_date=20231115".to_owned(),
        "/v3/bill/tradebill?bill_date=2023-02-30".to_owned(),
        format!("/v3/bill/tradebill?bill_date={DAY}&bill_type=RECHARGE_REFUND"),
        format!("/v3/bill/tradebill?bill_date={DAY}&tar_type=ZIP"),
        format!("/v3/bill/fundflowbill?bill_date={DAY}&account_type=ALL"),
        "/v3/bill/fundflowbill".to_owned(),
    ] {
        v3.get(&bad).await.assert_error(400, "PARAM_ERROR");
    }
}

#[tokio::test]
async fn the_download_address_is_the_askers_for_30_seconds() {
    let sandbox = day_of_business().await;
    let v3 = sandbox.v3_client();
    let answer = v3.get(&format!("/v3/bill/tradebill?bill_date={DAY}")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let path = download_path(&sandbox, &answer.json).to_owned();
    // Unsigned or badly signed: refused like every v3 call.
    let unsigned = v3
        .send(
            reqwest::Method::GET,
            &path,
            Vec::new(),
            Extra {
                authorization: Some(String::new()),
                ..Extra::default()
            },
        )
        .await;
    unsigned.assert_error(401, "SIGN_ERROR");
    // Another merchant may not download it.
    let other = "1900000777";
    sandbox
        .admin_client()
        .create_merchant(
            other,
            json!({ "appids": ["wx1234567890abcdef"], "api_key": "k".repeat(32) }),
        )
        .await
        .unwrap();
    sandbox.v3_files(other).await;
    sandbox
        .v3_client_for(other)
        .download(&path)
        .await
        .assert_error(403, "NO_AUTH");
    // Tokens that do not parse.
    for bad in [
        "/v3/billdownload/file".to_owned(),
        "/v3/billdownload/file?token=nope".to_owned(),
        path.replace("TRADE", "TRADES"),
    ] {
        v3.download(&bad).await.assert_error(400, "INVALID_REQUEST");
    }
    // Valid for 30 s of sandbox time, then refused.
    sandbox.advance(30).await;
    assert_eq!(v3.download(&path).await.status, 200);
    sandbox.advance(1).await;
    v3.download(&path)
        .await
        .assert_error(400, "INVALID_REQUEST");
    // A new address is valid again.
    let again = v3.get(&format!("/v3/bill/tradebill?bill_date={DAY}")).await;
    let file = v3.download(download_path(&sandbox, &again.json)).await;
    assert_eq!(file.status, 200);
    assert_eq!(again.json["hash_value"], sha1_hex(&file.bytes).as_str());
    assert_eq!(again.json["hash_value"], answer.json["hash_value"]);
}

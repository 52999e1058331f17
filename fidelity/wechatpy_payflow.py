"""Fidelity check: the real wechatpy 1.8.18 against a running paysandbox, beyond refunds:
unified order and close order, the payment and refund notifications (received on a local HTTP
receiver, verified and decrypted by wechatpy itself and, for req_info, independently with the
`cryptography` package), sandbox mode (`WeChatPay(..., sandbox=True)`: getsignkey, then every
call under /sandboxnew/ signed with the sandbox key), and the bill download. Every signed answer
is checked with wechatpy's signing code (wechatpy does not verify answers itself).

It moves the sandbox clock forward by more than a day (the bill of a day exists from 09:00 the
next day), so run it after the other WeChat checks. Its unified orders take time_start and
time_expire from the sandbox clock (wechatpy would use the machine's), so it can run again.

Usage: PAYSANDBOX_DATA_DIR=paysandbox-data PAYSANDBOX_API_URL=https://127.0.0.1:8443 \
       PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 python3 fidelity/wechatpy_payflow.py
"""

import base64
import hashlib
import os
import sys
import uuid
from datetime import datetime, timedelta

import requests
import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from wechatpy.exceptions import InvalidSignatureException, WeChatPayException
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import WECHAT_FAIL, WECHAT_SUCCESS, Receiver  # noqa: E402

DATA = os.environ["PAYSANDBOX_DATA_DIR"]
API = os.environ["PAYSANDBOX_API_URL"].rstrip("/") + "/"
ADMIN = os.environ["PAYSANDBOX_ADMIN_URL"].rstrip("/")
MCH_ID, APPID, KEY = "1900000109", "wx2421b1c4370ec43b", "paysandboxdemokey000000000000000"
MERCHANT = os.path.join(DATA, "merchants", MCH_ID)
CERT = dict(mch_cert=os.path.join(MERCHANT, "apiclient_cert.pem"), mch_key=os.path.join(MERCHANT, "apiclient_key.pem"))
os.environ["REQUESTS_CA_BUNDLE"] = os.path.join(DATA, "ca.pem")
RUN = uuid.uuid4().hex[:10]


class SandboxPay(WeChatPay):
    API_BASE_URL = API


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + (f"  {detail}" if not condition else ""))
    if not condition:
        sys.exit(1)


def verified(result, key=KEY, hmac=False):
    """The answer's signature, as wechatpy computes signatures (it drops empty values)."""
    result = dict(result)
    sign = result.pop("sign")
    made = calculate_signature_hmac(result, key) if hmac else calculate_signature(result, key)
    check("answer signature verifies", made == sign, result)
    return result


def admin(method, path, body=None):
    response = requests.request(method, f"{ADMIN}{path}", json=body)
    response.raise_for_status()
    return response.json()


def advance(seconds):
    return admin("POST", "/admin/clock/advance", {"seconds": seconds})


def notifications(**filters):
    # The receiver has the body before the sandbox has read the answer and recorded the attempt
    # (admin POSTs do not wait for deliveries): a flush waits for the attempts in flight.
    admin("POST", "/admin/notifications/flush")
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return admin("GET", f"/admin/notifications?{query}")


def sandbox_now():
    """The sandbox clock in Beijing time (naive)."""
    return datetime.strptime(admin("GET", "/admin/clock")["beijing"], "%Y-%m-%d %H:%M:%S")


def create(pay, **fields):
    """wechatpy's unified order, with time_start/time_expire from the sandbox clock: wechatpy
    takes them from the machine clock, which the sandbox's (advanced) clock may have left behind,
    and the sandbox, like the platform, refuses an order expiring within 5 minutes."""
    now = sandbox_now()
    return pay.order.create(time_start=now, time_expire=now + timedelta(hours=2), **fields)


def decrypt_req_info(req_info, api_key):
    """Independent of wechatpy: AES-256-ECB, key = hex MD5 of the API key, strict PKCS#7."""
    key = hashlib.md5(api_key.encode()).hexdigest().encode()
    raw = base64.b64decode(req_info, validate=True)
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    padded = decryptor.update(raw) + decryptor.finalize()
    pad = padded[-1]
    check("req_info has standard 16-byte PKCS#7 padding",
          1 <= pad <= 16 and padded[-pad:] == bytes([pad]) * pad, padded[-20:])
    return padded[:-pad].decode("utf-8")


def order_flow(pay, receiver):
    # Unified order (NATIVE), then close it.
    closing = f"wpy-close-{RUN}"
    made = verified(create(pay, trade_type="NATIVE", body="paysandbox fidelity", total_fee=101,
                                     notify_url=receiver.url("/never"), client_ip="127.0.0.1",
                                     out_trade_no=closing, product_id="p-1"))
    check("unifiedorder: prepay_id and code_url",
          made["prepay_id"].startswith("wx") and made["code_url"].startswith("weixin://wxpay/"), made)
    state = verified(pay.order.query(out_trade_no=closing))
    check("orderquery: NOTPAY", state["trade_state"] == "NOTPAY", state)
    closed = verified(pay.order.close(closing))
    check("closeorder: SUCCESS", closed["result_code"] == "SUCCESS", closed)
    state = verified(pay.order.query(out_trade_no=closing))
    check("orderquery after close: CLOSED", state["trade_state"] == "CLOSED", state)
    try:
        create(pay, trade_type="NATIVE", body="again", total_fee=101, notify_url=receiver.url("/never"),
                         client_ip="127.0.0.1", out_trade_no=closing, product_id="p-1")
        check("unifiedorder of a closed order refused", False)
    except WeChatPayException as e:
        check("unifiedorder of a closed order: ORDERCLOSED", e.errcode == "ORDERCLOSED", e.errcode)

    # Unified order (JSAPI) whose notify_url is the receiver; the buyer pays through the admin
    # API; the first attempt is refused, the retry 15 s later acknowledged.
    paid = f"wpy-pay-{RUN}"
    pay_url = receiver.expect("/wechat/pay", [WECHAT_FAIL, WECHAT_SUCCESS])
    verified(create(pay, trade_type="JSAPI", body="paysandbox fidelity", total_fee=8800,
                              notify_url=pay_url, client_ip="127.0.0.1", out_trade_no=paid,
                              user_id="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", attach="fidelity"))
    admin("POST", f"/admin/wechat/orders/{paid}/pay?mch_id={MCH_ID}")
    first = receiver.next()
    parsed = pay.parse_payment_result(first.body)
    check("payment notification verified by wechatpy.parse_payment_result",
          parsed["out_trade_no"] == paid and parsed["total_fee"] == 8800 and parsed["result_code"] == "SUCCESS"
          and parsed["appid"] == APPID and parsed["mch_id"] == MCH_ID, parsed)
    check("payment notification echoes attach and openid",
          parsed.get("attach") == "fidelity" and parsed.get("openid") == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", parsed)
    try:
        WeChatPay(APPID, "wrongkeywrongkeywrongkeywrongkey", MCH_ID).parse_payment_result(first.body)
        check("payment notification refused with another key", False)
    except InvalidSignatureException:
        check("payment notification refused with another key", True)
    [note] = notifications(kind="payment", out_trade_no=paid)
    check("admin: refused first attempt leaves it pending",
          note["status"] == "pending" and len(note["attempts"]) == 1 and not note["attempts"][0]["success"], note)
    advance(15)
    again = receiver.next()
    check("retry after 15 s carries the same body", again.body == first.body)
    [note] = notifications(kind="payment", out_trade_no=paid)
    check("admin: delivered on the second attempt",
          note["status"] == "delivered" and [a["success"] for a in note["attempts"]] == [False, True], note)
    state = verified(pay.order.query(out_trade_no=paid))
    check("orderquery: SUCCESS with the notification's transaction_id",
          state["trade_state"] == "SUCCESS" and state["transaction_id"] == parsed["transaction_id"], state)

    # HMAC-SHA256 order: the notification is signed HMAC and says so (wechatpy's
    # parse_payment_result only knows MD5, so check it with wechatpy's HMAC function).
    hmac_order = f"wpy-hmac-{RUN}"
    hmac_url = receiver.expect("/wechat/pay-hmac", [WECHAT_SUCCESS])
    verified(create(pay, trade_type="NATIVE", body="hmac", total_fee=300, notify_url=hmac_url,
                              client_ip="127.0.0.1", out_trade_no=hmac_order, product_id="p-2",
                              sign_type="HMAC-SHA256"), hmac=True)
    admin("POST", f"/admin/wechat/orders/{hmac_order}/pay?mch_id={MCH_ID}")
    body = xmltodict.parse(receiver.next().body)["xml"]
    sign = body.pop("sign")
    check("HMAC order: notification carries sign_type and verifies with HMAC-SHA256",
          body.get("sign_type") == "HMAC-SHA256" and calculate_signature_hmac(body, KEY) == sign, body)

    # Refund with a notify_url; it settles after the settle delay on the sandbox clock.
    refund_no = f"wpy-refund-{RUN}"
    refund_url = receiver.expect("/wechat/refund", [WECHAT_SUCCESS])
    accepted = verified(pay.refund.apply(total_fee=8800, refund_fee=800, out_refund_no=refund_no,
                                         out_trade_no=paid, notify_url=refund_url))
    check("refund accepted", accepted["result_code"] == "SUCCESS", accepted)
    check("nothing is sent while PROCESSING", receiver.nothing_more())
    advance(10)
    note_body = receiver.next().body
    info = pay.parse_refund_notify_result(note_body)
    check("refund notification decrypted by wechatpy.parse_refund_notify_result",
          info["out_refund_no"] == refund_no and info["out_trade_no"] == paid and info["refund_fee"] == 800
          and info["total_fee"] == 8800 and info["refund_status"] == "SUCCESS"
          and info["refund_id"] == accepted["refund_id"] and info["transaction_id"] == parsed["transaction_id"], info)
    check("refund notification: success_time and request source",
          len(info.get("success_time", "")) == 19 and info.get("refund_request_source") == "API", info)
    outer = xmltodict.parse(note_body)["xml"]
    check("outer refund notification: return_code SUCCESS, no sign",
          outer["return_code"] == "SUCCESS" and "sign" not in outer and outer["appid"] == APPID, outer)
    plain = decrypt_req_info(outer["req_info"], KEY)
    root = xmltodict.parse(plain)["root"]
    check("req_info decrypts independently (cryptography) to the same fields", root == dict(info) | {
        k: str(v) for k, v in info.items() if isinstance(v, int)}, root)
    [note] = notifications(kind="refund", refund_no=refund_no)
    check("admin: refund notification delivered", note["status"] == "delivered", note)
    return paid, refund_no


def sandbox_flow():
    sandbox = SandboxPay(APPID, KEY, MCH_ID, sandbox=True, **CERT)
    key = sandbox.sandbox_api_key
    check("getsignkey gives a 32-character sandbox key", key is not None and len(key) == 32 and key != KEY, key)
    listed = admin("GET", "/admin/wechat/sandbox/keys")
    check("admin lists the issued sandbox key", key in str(listed), listed)
    out_trade_no = f"wpy-sbx-{RUN}"
    admin("POST", "/admin/wechat/orders", {"mch_id": MCH_ID, "out_trade_no": out_trade_no, "total_fee": 552,
                                           "sandbox": True})
    state = verified(sandbox.order.query(out_trade_no=out_trade_no), key=key)
    check("sandbox orderquery under /sandboxnew/ with the sandbox key: SUCCESS",
          state["trade_state"] == "SUCCESS" and state["total_fee"] == "552", state)
    try:
        SandboxPay(APPID, KEY, MCH_ID).order.query(out_trade_no=out_trade_no)
        check("the sandbox order is not in production", False)
    except WeChatPayException as e:
        check("the sandbox order is not in production: ORDERNOTEXIST", e.errcode == "ORDERNOTEXIST", e.errcode)
    refund_no = f"wpy-sbx-refund-{RUN}"
    # wechatpy sends the sandbox refund to /sandboxnew/secapi/pay/refund (with the certificate).
    refunded = verified(sandbox.refund.apply(total_fee=552, refund_fee=552, out_refund_no=refund_no,
                                             out_trade_no=out_trade_no), key=key)
    check("sandbox refund accepted", refunded["result_code"] == "SUCCESS" and refunded["refund_fee"] == "552", refunded)
    queried = verified(sandbox.refund.query(out_refund_no=refund_no), key=key)
    check("sandbox refundquery finds it", queried["out_refund_no_0"] == refund_no, queried)
    # The production API key does not sign for the sandbox.
    wrong = SandboxPay(APPID, KEY, MCH_ID, sandbox=True)
    wrong._sandbox_api_key = KEY
    try:
        wrong.order.query(out_trade_no=out_trade_no)
        check("sandbox refuses the production key", False)
    except WeChatPayException as e:
        check("sandbox refuses the production key: return_code FAIL", e.return_code == "FAIL", e)


def bill_rows(text):
    """Header, data rows (fields without their leading backtick) and the summary line."""
    lines = [line for line in text.splitlines() if line]
    rows = [[f[1:] if f.startswith("`") else f for f in line.split(",")] for line in lines[1:-2]]
    return lines[0], rows, lines[-1]


def bill_flow(pay, paid, refund_no):
    # An order paid two days ago (seeded through the admin API): its day's bill is there.
    now = sandbox_now()
    old = f"wpy-old-{RUN}"
    admin("POST", "/admin/wechat/orders", {"mch_id": MCH_ID, "out_trade_no": old, "total_fee": 1234,
                                           "paid_seconds_ago": 2 * 86400})
    day = (now - timedelta(days=2)).strftime("%Y%m%d")
    text = pay.tools.download_bill(day)
    check("bill of two days ago is text, not XML", isinstance(text, str) and not text.startswith("<"), text[:200])
    header, rows, summary = bill_rows(text)
    check("bill header is the ALL header", header.startswith("交易时间,公众账号ID,商户号,"), header)
    mine = [r for r in rows if r[6] == old]
    check("the seeded order is a SUCCESS row of 12.34",
          len(mine) == 1 and mine[0][9] == "SUCCESS" and mine[0][12] == "12.34", rows)
    # Today's bill does not exist yet.
    try:
        pay.tools.download_bill(now.strftime("%Y%m%d"))
        check("today's bill refused", False)
    except WeChatPayException as e:
        check("today's bill: Bill Creating", e.return_code == "FAIL" and e.return_msg == "Bill Creating",
              e.return_msg)
    # Move the sandbox clock to 10:00 tomorrow (Beijing): today's bill now has the order paid
    # through unifiedorder and its refund.
    tomorrow_ten = (now + timedelta(days=1)).replace(hour=10, minute=0, second=0)
    advance(int((tomorrow_ten - now).total_seconds()))
    text = pay.tools.download_bill(now.strftime("%Y%m%d"))
    header, rows, summary = bill_rows(text)
    payment = [r for r in rows if r[6] == paid and r[9] == "SUCCESS"]
    refund = [r for r in rows if r[6] == paid and r[9] == "REFUND"]
    check("yesterday's bill: the payment row (88.00)", len(payment) == 1 and payment[0][12] == "88.00", rows)
    check("yesterday's bill: the refund row (8.00, SUCCESS)",
          len(refund) == 1 and refund[0][15] == refund_no and refund[0][16] == "8.00"
          and refund[0][19] == "SUCCESS", refund)
    check("summary line: backtick fields", summary.startswith("`") and len(summary.split(",")) == 7, summary)
    success_rows = bill_rows(pay.tools.download_bill(now.strftime("%Y%m%d"), bill_type="SUCCESS"))[1]
    check("SUCCESS bill: the payment row and no refund rows",
          any(r[6] == paid for r in success_rows) and all(r[9] == "SUCCESS" for r in success_rows), success_rows)


def main():
    receiver = Receiver()
    try:
        pay = SandboxPay(APPID, KEY, MCH_ID, **CERT)
        paid, refund_no = order_flow(pay, receiver)
        sandbox_flow()
        bill_flow(pay, paid, refund_no)
    finally:
        receiver.close()
    print("wechatpy payment flow, notifications, sandbox and bill fidelity: all checks passed")


if __name__ == "__main__":
    main()

"""Fidelity check: wechatpayv3 (minibear2021, PyPI), an API v3 client, against a running
paysandbox in public-key mode (PUB_KEY_ID_… and pub_key.pem, no platform certificates).

wechatpayv3 has no base-URL parameter; its gateway is the private attribute `_core._gate_way`,
set after construction. It verifies every 2xx answer itself (and requires
`Wechatpay-Signature-Type`), so every successful call below is also a signature check; a
client given the wrong public key must refuse one.

Flow, on a merchant of its own made through the admin API: JSAPI and App prepay, the buyer
pays (admin API), order query by both ids, refund, idempotent repeat, refund query (PROCESSING,
then SUCCESS once the sandbox clock has moved), each refusal (SIGN_ERROR, NOT_ENOUGH,
RESOURCE_NOT_EXISTS, INVALID_REQUEST, FREQUENCY_LIMITED), an abnormal refund to the user's bank
card (its fields encrypted by the client) and close (a signed 204).

Usage: PAYSANDBOX_DATA_DIR=paysandbox-data PAYSANDBOX_API_URL=https://127.0.0.1:8443 \
       PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 python3 fidelity/wechatpayv3_flow.py
"""

import json
import os
import sys
import uuid

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from wechatpayv3 import WeChatPay, WeChatPayType

DATA = os.environ["PAYSANDBOX_DATA_DIR"]
API = os.environ["PAYSANDBOX_API_URL"].rstrip("/")
ADMIN = os.environ["PAYSANDBOX_ADMIN_URL"].rstrip("/")
APPID, OPENID = "wx2421b1c4370ec43b", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
APIV3_KEY = "paysandboxfidelitypy00000000v3v3"
RUN = uuid.uuid4().hex[:10]
MCH_ID = "17" + str(int(RUN, 16) % 10**8).zfill(8)
os.environ["REQUESTS_CA_BUNDLE"] = os.path.join(DATA, "ca.pem")


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f" {detail}"))
    if not condition:
        sys.exit(1)


def admin(method, path, body=None, want=200):
    answer = requests.request(method, ADMIN + path, json=body, timeout=30)
    check(f"admin {method} {path}: HTTP {want}", answer.status_code == want, answer.text)
    return answer.json()


def read(path):
    with open(os.path.join(DATA, "merchants", MCH_ID, path), encoding="utf-8") as f:
        return f.read()


def pem_of_new_key(public=False):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if public:
        return key.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


admin("POST", "/admin/wechat/merchants", {
    "mch_id": MCH_ID, "appids": [APPID], "api_key": "paysandboxfidelitypy000000000000",
    "api_v3_key": APIV3_KEY, "v3_identity": "public_key", "company": "wechatpayv3 fidelity"}, want=201)
view = admin("GET", f"/admin/wechat/merchants/{MCH_ID}/v3")
check("admin: merchant in public-key mode", view.get("identity") == "public_key", view)
PUB_KEY_ID = read("pub_key_id.txt").strip()
check("public key id is PUB_KEY_ID_…", PUB_KEY_ID.startswith("PUB_KEY_ID_"), PUB_KEY_ID)

# The merchant serial as the real merchant platform shows it; the client takes it as given.
from cryptography import x509  # noqa: E402

SERIAL = format(x509.load_pem_x509_certificate(read("apiclient_cert.pem").encode()).serial_number, "X")


def client(private_key=None, public_key=None):
    pay = WeChatPay(wechatpay_type=WeChatPayType.JSAPI, mchid=MCH_ID,
                    private_key=private_key or read("apiclient_key.pem"), cert_serial_no=SERIAL,
                    appid=APPID, apiv3_key=APIV3_KEY, notify_url="https://merchant.example/notify",
                    public_key=public_key or read("pub_key.pem"), public_key_id=PUB_KEY_ID, timeout=(10, 30))
    pay._core._gate_way = API  # the one change: where requests go
    return pay


def ok(name, answer, status=200):
    code, body = answer
    check(f"{name}: HTTP {status}", code == status, body)
    return json.loads(body) if body else None


def refused(name, answer, status, code):
    got_status, body = answer
    got = json.loads(body)
    check(f"{name}: HTTP {status} {code}", got_status == status and got.get("code") == code, (got_status, body))
    check(f"{name}: a message", bool(got.get("message")), body)
    return got


def truncated_sign_message(body):
    """The copy of the signed message a SIGN_ERROR answer echoes, wherever detail nests it."""
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("truncated_sign_message"), str):
                return node["truncated_sign_message"]
            stack.extend(node.values())
    return ""


pay = client()

# Prepay (JSAPI), the buyer pays, order query both ways.
trade = f"py-{RUN}"
prepay = ok("jsapi prepay", pay.pay(description="fidelity", out_trade_no=trade,
                                     amount={"total": 8800, "currency": "CNY"}, payer={"openid": OPENID}))
check("jsapi prepay: a prepay_id", prepay.get("prepay_id", "").startswith("wx"), prepay)
admin("POST", f"/admin/wechat/orders/{trade}/pay", {"mch_id": MCH_ID})
order = ok("order query", pay.query(out_trade_no=trade))
check("order query: SUCCESS, 8800 fen, JSAPI, the payer", order["trade_state"] == "SUCCESS"
      and order["amount"]["total"] == 8800 and order["trade_type"] == "JSAPI"
      and order["payer"]["openid"] == OPENID and order["mchid"] == MCH_ID, order)
by_id = ok("order query by transaction_id", pay.query(transaction_id=order["transaction_id"]))
check("order query by transaction_id: the same order", by_id["out_trade_no"] == trade, by_id)

# Refund, the same request again, refund query.
refund_no = f"py-r1-{RUN}"
refund = ok("refund", pay.refund(out_refund_no=refund_no, out_trade_no=trade, reason="fidelity",
                                 amount={"refund": 1000, "total": 8800, "currency": "CNY"}))
check("refund: PROCESSING, amounts, ids", refund["status"] == "PROCESSING" and refund["out_refund_no"] == refund_no
      and refund["transaction_id"] == order["transaction_id"] and refund["amount"]["refund"] == 1000
      and refund["amount"]["total"] == 8800 and "success_time" not in refund, refund)
again = ok("refund repeated", pay.refund(out_refund_no=refund_no, out_trade_no=trade,
                                         amount={"refund": 1000, "total": 8800, "currency": "CNY"}))
check("same out_refund_no: the same refund_id", again["refund_id"] == refund["refund_id"], again)
queried = ok("refund query", pay.query_refund(out_refund_no=refund_no))
check("refund query: the same refund", queried["refund_id"] == refund["refund_id"], queried)

refused("second refund within a minute", pay.refund(
    out_refund_no=f"py-r2-{RUN}", out_trade_no=trade, amount={"refund": 1000, "total": 8800, "currency": "CNY"}),
    429, "FREQUENCY_LIMITED")

admin("POST", "/admin/clock/advance", {"seconds": 61})
queried = ok("refund query after a minute", pay.query_refund(out_refund_no=refund_no))
check("refund settled: SUCCESS with success_time", queried["status"] == "SUCCESS" and "success_time" in queried, queried)
order = ok("order query after the refund", pay.query(out_trade_no=trade))
check("order is REFUND", order["trade_state"] == "REFUND", order)

refused("refund beyond the refundable amount", pay.refund(
    out_refund_no=f"py-r3-{RUN}", out_trade_no=trade, amount={"refund": 8000, "total": 8800, "currency": "CNY"}),
    400, "INVALID_REQUEST")
refused("same out_refund_no, another amount", pay.refund(
    out_refund_no=refund_no, out_trade_no=trade, amount={"refund": 999, "total": 8800, "currency": "CNY"}),
    400, "INVALID_REQUEST")
refused("refund of an unknown order", pay.refund(
    out_refund_no=f"py-r4-{RUN}", out_trade_no=f"py-none-{RUN}", amount={"refund": 1, "total": 100, "currency": "CNY"}),
    404, "RESOURCE_NOT_EXISTS")
refused("query of an unknown refund", pay.query_refund(out_refund_no=f"py-none-{RUN}"), 404, "RESOURCE_NOT_EXISTS")

admin("PATCH", f"/admin/wechat/merchants/{MCH_ID}", {"refundable_balance": 10})
refused("refund beyond the balance", pay.refund(
    out_refund_no=f"py-r5-{RUN}", out_trade_no=trade, amount={"refund": 500, "total": 8800, "currency": "CNY"}),
    403, "NOT_ENOUGH")
admin("PATCH", f"/admin/wechat/merchants/{MCH_ID}", {"refundable_balance": 100000000})

forged = refused("request signed with another key", client(private_key=pem_of_new_key()).refund(
    out_refund_no=f"py-r6-{RUN}", out_trade_no=trade, amount={"refund": 1, "total": 8800, "currency": "CNY"}),
    401, "SIGN_ERROR")
check("SIGN_ERROR detail echoes the message the server built",
      truncated_sign_message(forged).startswith("POST\n/v3/refund/domestic/refunds\n"), forged)

try:
    client(public_key=pem_of_new_key(public=True)).query_refund(out_refund_no=refund_no)
    check("a client with the wrong public key refuses the 200 answer", False)
except Exception as e:  # wechatpayv3 raises a bare Exception
    check("a client with the wrong public key refuses the 200 answer", "verify the signature" in str(e), e)

# Abnormal refund: a refund the bank refused (ABNORMAL; v2's CHANGE, forced through the admin
# API) sent to the user's bank card, the card number and name RSA-OAEP encrypted by the client
# with the WeChat Pay public key it names in Wechatpay-Serial.
abnormal_no = f"py-ab-{RUN}"
abnormal = ok("refund to become abnormal", pay.refund(
    out_refund_no=abnormal_no, out_trade_no=trade, amount={"refund": 700, "total": 8800, "currency": "CNY"}))
admin("POST", f"/admin/wechat/refunds/{abnormal['refund_id']}/status", {"status": "CHANGE"})
queried = ok("query of the bank-refused refund", pay.query_refund(out_refund_no=abnormal_no))
check("v2's CHANGE reads ABNORMAL", queried["status"] == "ABNORMAL", queried)
redirected = ok("abnormal refund to the user's card", pay.abnormal_refund(
    refund_id=abnormal["refund_id"], out_refund_no=abnormal_no, type="USER_BANK_CARD",
    bank_type="ICBC_DEBIT", bank_account="6222021234567895678", real_name="张三"))
check("abnormal refund: the same refund, now SUCCESS", redirected["refund_id"] == abnormal["refund_id"]
      and redirected["status"] == "SUCCESS", redirected)
check("abnormal refund: the card the sandbox decrypted receives it",
      "5678" in redirected.get("user_received_account", ""), redirected)
refused("abnormal refund of a refund that is not ABNORMAL", pay.abnormal_refund(
    refund_id=refund["refund_id"], out_refund_no=refund_no, type="MERCHANT_BANK_CARD"), 400, "INVALID_REQUEST")

# App prepay, then close: a signed 204.
closing = f"py-close-{RUN}"
app = ok("app prepay", pay.pay(description="fidelity", out_trade_no=closing, amount={"total": 100},
                               pay_type=WeChatPayType.APP))
check("app prepay: a prepay_id", app.get("prepay_id", "").startswith("wx"), app)
ok("close", pay.close(out_trade_no=closing), status=204)
closed = ok("query of the closed order", pay.query(out_trade_no=closing))
check("closed order: CLOSED", closed["trade_state"] == "CLOSED", closed)
print("wechatpayv3 fidelity: all checks passed")

"""Fidelity check: the API v3 notifications the sandbox sends, handled by wechatpayv3
(minibear2021, PyPI) the way its README says a merchant's handler should: `callback(headers,
body)` verifies the signature headers and decrypts the resource with the APIv3 key, and the
handler answers 204 only when that worked, else 401.

The handler sits on a receiver on 127.0.0.1 (receiver.py). On a merchant of its own in
public-key mode (the client also downloads /v3/certificates for a serial it does not know):
- TRANSACTION.SUCCESS (a JSAPI order the buyer pays), REFUND.SUCCESS (a refund settling),
  REFUND.ABNORMAL (a refund forced to the bank's refusal) are accepted by `callback`, and
  their decrypted resource is the order or refund the API answers;
- the sandbox records each as delivered, the first attempt answered 204;
- a signature probe (WECHATPAY/SIGNTEST/) is refused by `callback`, so the probe's check is
  `passed` and GET /admin/wechat/v3/probes reports no failed check; a handler that answers 2xx
  without calling `callback` is reported as a failed check;
- the same notification with a tampered body, and one read with the wrong APIv3 key, are
  refused;
- a switch-over (day 3): resends signed at random by the certificate or the public key are all
  accepted, and both signers occur.

Usage: PAYSANDBOX_DATA_DIR=paysandbox-data PAYSANDBOX_API_URL=https://127.0.0.1:8443 \
       PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 python3 fidelity/wechatpayv3_notify.py
"""

import json
import os
import sys
import uuid

import requests
from cryptography import x509

from wechatpayv3 import WeChatPay, WeChatPayType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import Receiver  # noqa: E402

DATA = os.environ["PAYSANDBOX_DATA_DIR"]
API = os.environ["PAYSANDBOX_API_URL"].rstrip("/")
ADMIN = os.environ["PAYSANDBOX_ADMIN_URL"].rstrip("/")
APPID, OPENID = "wx2421b1c4370ec43b", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
APIV3_KEY = "paysandboxfidelitypynotify000000"
RUN = uuid.uuid4().hex[:10]
MCH_ID = "15" + str(int(RUN, 16) % 10**8).zfill(8)
os.environ["REQUESTS_CA_BUNDLE"] = os.path.join(DATA, "ca.pem")
# Real-time bound on waiting for one delivery (the sandbox's own attempt timeout is 5 s).
WAIT = 15


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f" {detail}"))
    if not condition:
        sys.exit(1)


def admin(method, path, body=None, want=200):
    answer = requests.request(method, ADMIN + path, json=body, timeout=60)
    check(f"admin {method} {path}: HTTP {want}", answer.status_code == want, answer.text)
    return answer.json()


def read(path):
    with open(os.path.join(DATA, "merchants", MCH_ID, path), encoding="utf-8") as f:
        return f.read()


admin("POST", "/admin/wechat/merchants", {
    "mch_id": MCH_ID, "appids": [APPID], "api_key": "paysandboxfidelitypynotify000000",
    "api_v3_key": APIV3_KEY, "v3_identity": "public_key", "company": "wechatpayv3 notify fidelity"}, want=201)
admin("GET", f"/admin/wechat/merchants/{MCH_ID}/v3")  # makes its v3 files
PUB_KEY_ID = read("pub_key_id.txt").strip()
SERIAL = format(x509.load_pem_x509_certificate(read("apiclient_cert.pem").encode()).serial_number, "X")


def client(apiv3_key=APIV3_KEY):
    pay = WeChatPay(wechatpay_type=WeChatPayType.JSAPI, mchid=MCH_ID, private_key=read("apiclient_key.pem"),
                    cert_serial_no=SERIAL, appid=APPID, apiv3_key=apiv3_key,
                    notify_url="https://merchant.example/notify", public_key=read("pub_key.pem"),
                    public_key_id=PUB_KEY_ID, timeout=(10, 30))
    pay._core._gate_way = API  # where requests (and the certificate download) go
    return pay


pay = client()
handled = []  # (path, the result of callback) for every notification the careful handler took


def careful(headers, body):
    """A merchant's handler as wechatpayv3 documents it: callback() or a refusal."""
    result = pay.callback(headers, body)
    handled.append(result)
    if not result:
        return 401, json.dumps({"code": "FAIL", "message": "signature verification failed"})
    return 204, ""


def careless(headers, body):
    """A handler that never checks the signature: what the probes exist to catch."""
    return 204, ""


receiver = Receiver()
NOTIFY = receiver.handle("/notify", careful)
CARELESS = receiver.handle("/careless", careless)


def header(note, name):
    """A header of a received notification, whatever its case (the sandbox sends lower case)."""
    return {k.lower(): v for k, v in note.headers.items()}.get(name.lower(), "")


unannounced = []  # probes that went before a real notification (serve --v3-probe-percent)


def received(what):
    note = receiver.next(timeout=WAIT)
    while header(note, "Wechatpay-Signature").startswith("WECHATPAY/SIGNTEST/"):
        check(f"{what}: a probe before it, refused by callback()", note.status == 401, note.status)
        unannounced.append(note)
        note = receiver.next(timeout=WAIT)
    check(f"{what}: arrived at the handler", note.path == "/notify", note)
    result = handled[-1]
    check(f"{what}: callback() verified and decrypted it (answered 204)", note.status == 204 and bool(result),
          (note.status, note.headers, note.body[:200]))
    return note, result


def delivered(query, event, http_status=204):
    # The handler has answered, but the sandbox records the attempt once it has read the
    # answer: a flush waits for the attempts in flight.
    admin("POST", "/admin/notifications/flush")
    listed = admin("GET", f"/admin/notifications?{query}")
    check(f"{event}: one notification recorded", len(listed) == 1, listed)
    n = listed[0]
    check(f"{event}: wechat_v3, delivered, first attempt {http_status}",
          n["platform"] == "wechat_v3" and n["event"] == event and n["status"] == "delivered"
          and n["attempts"][0]["http_status"] == http_status and n["attempts"][0]["success"], n)
    return n


# TRANSACTION.SUCCESS: a JSAPI order whose buyer pays.
trade = f"pyn-{RUN}"
code, body = pay.pay(description="fidelity", out_trade_no=trade, amount={"total": 6600}, payer={"openid": OPENID},
                     notify_url=NOTIFY)
check("jsapi prepay with the receiver as notify_url: HTTP 200", code == 200, body)
admin("POST", f"/admin/wechat/orders/{trade}/pay", {"mch_id": MCH_ID})
note, paid = received("TRANSACTION.SUCCESS")
check("TRANSACTION.SUCCESS: the envelope", paid["event_type"] == "TRANSACTION.SUCCESS"
      and paid["resource_type"] == "encrypt-resource" and paid["id"].startswith("EV-")
      and paid["summary"] == "支付成功", paid)
resource = paid["resource"]
code, body = pay.query(out_trade_no=trade)
order = json.loads(body)
check("TRANSACTION.SUCCESS: the decrypted order is the one the order query answers",
      resource["out_trade_no"] == trade and resource["trade_state"] == "SUCCESS"
      and resource["transaction_id"] == order["transaction_id"] and resource["amount"]["total"] == 6600
      and resource["mchid"] == MCH_ID and resource["payer"]["openid"] == OPENID, (resource, order))
check("TRANSACTION.SUCCESS: signed with the public key (public-key mode)",
      header(note, "Wechatpay-Serial") == PUB_KEY_ID, note.headers)
pay_note = delivered(f"platform=wechat_v3&out_trade_no={trade}&kind=payment", "TRANSACTION.SUCCESS")

# The same body tampered with, and the body read with another APIv3 key, are refused.
tampered = note.body.replace('"TRANSACTION.SUCCESS"', '"REFUND.SUCCESS"')
check("a tampered body: callback() refuses it", tampered != note.body and not pay.callback(note.headers, tampered))
try:
    wrong = client(apiv3_key="another32characterapiv3key000000").callback(note.headers, note.body)
except Exception as e:  # cryptography's InvalidTag
    wrong = f"raised {type(e).__name__}"
check("another APIv3 key: no plaintext", not isinstance(wrong, dict), wrong)

# REFUND.SUCCESS: a refund settles on the sandbox clock.
refund_no = f"pyn-r1-{RUN}"
code, body = pay.refund(out_refund_no=refund_no, out_trade_no=trade, notify_url=NOTIFY,
                        amount={"refund": 1600, "total": 6600, "currency": "CNY"})
check("refund with the receiver as notify_url: HTTP 200 PROCESSING", code == 200
      and json.loads(body)["status"] == "PROCESSING", body)
refund = json.loads(body)
admin("POST", "/admin/clock/advance", {"seconds": 61})
note, settled = received("REFUND.SUCCESS")
resource = settled["resource"]
check("REFUND.SUCCESS: the envelope", settled["event_type"] == "REFUND.SUCCESS" and settled["summary"] == "退款成功",
      settled)
check("REFUND.SUCCESS: the decrypted refund", resource["refund_status"] == "SUCCESS"
      and resource["refund_id"] == refund["refund_id"] and resource["out_refund_no"] == refund_no
      and resource["out_trade_no"] == trade and resource["amount"]["refund"] == 1600
      and resource["amount"]["total"] == 6600 and bool(resource.get("success_time")), resource)
delivered(f"platform=wechat_v3&refund_no={refund_no}", "REFUND.SUCCESS")

# REFUND.ABNORMAL: a refund the bank refused (v2's CHANGE, forced through the admin API).
abnormal_no = f"pyn-r2-{RUN}"
code, body = pay.refund(out_refund_no=abnormal_no, out_trade_no=trade, notify_url=NOTIFY,
                        amount={"refund": 700, "total": 6600, "currency": "CNY"})
check("refund to become abnormal: HTTP 200", code == 200, body)
admin("POST", f"/admin/wechat/refunds/{json.loads(body)['refund_id']}/status", {"status": "CHANGE"})
note, abnormal = received("REFUND.ABNORMAL")
check("REFUND.ABNORMAL: the decrypted refund", abnormal["event_type"] == "REFUND.ABNORMAL"
      and abnormal["resource"]["refund_status"] == "ABNORMAL" and abnormal["resource"]["out_refund_no"] == abnormal_no
      and "success_time" not in abnormal["resource"], abnormal)
delivered(f"platform=wechat_v3&refund_no={abnormal_no}", "REFUND.ABNORMAL")
check("nothing else arrived", receiver.nothing_more())

# Signature probes: the careful handler refuses one, the careless one accepts it.
probe = admin("POST", f"/admin/wechat/merchants/{MCH_ID}/v3/probe", {"url": NOTIFY})
note = receiver.next(timeout=WAIT)
check("probe: signed WECHATPAY/SIGNTEST/", header(note, "Wechatpay-Signature").startswith("WECHATPAY/SIGNTEST/"),
      note.headers)
check("probe: callback() refuses it, the handler answers 401", handled[-1] is None and note.status == 401,
      (handled[-1], note.status))
check("probe: the sandbox records the refusal as a passed check", probe["check"] == "passed"
      and probe["accepted"] is False and probe["http_status"] == 401, probe)
check("no failed check reported for the careful handler",
      admin("GET", f"/admin/wechat/v3/probes?merchant={MCH_ID}&check=failed") == [])
probe = admin("POST", f"/admin/wechat/merchants/{MCH_ID}/v3/probe", {"url": CARELESS})
receiver.next(timeout=WAIT)
check("a handler that accepts the probe: a failed check", probe["check"] == "failed" and probe["accepted"] is True,
      probe)
failed = admin("GET", f"/admin/wechat/v3/probes?merchant={MCH_ID}&check=failed")
check("the failed check is reported, naming the careless handler", len(failed) == 1 and failed[0]["url"] == CARELESS,
      failed)

# Switch-over, day 3 (57 % public key): resends of the payment notification, each signed anew by
# a signer drawn at random, all verified by the client (public key, or a certificate it
# downloads from /v3/certificates).
admin("POST", f"/admin/wechat/merchants/{MCH_ID}/v3", {"identity": "switch_over"})
admin("POST", "/admin/clock/advance", {"seconds": 3 * 86400})
serials = []
for _ in range(16):
    again = admin("POST", f"/admin/notifications/{pay_note['id']}/resend")
    note = receiver.next(timeout=WAIT)
    check("switch-over resend: callback() accepted it", note.status == 204 and bool(handled[-1])
          and again["status"] == "delivered", (note.status, note.headers))
    serials.append(header(note, "Wechatpay-Serial"))
by_key = serials.count(PUB_KEY_ID)
print(f"     switch-over day 3: {by_key} of {len(serials)} signed with the public key")
check("switch-over: both the public key and a certificate signed some",
      0 < by_key < len(serials) and all(s for s in serials), serials)
receiver.close()
if unannounced:
    print(f"     {len(unannounced)} unannounced probe(s) refused (serve --v3-probe-percent)")
print("wechatpayv3 notification fidelity: all checks passed")

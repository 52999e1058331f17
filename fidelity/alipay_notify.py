"""Fidelity check: Alipay trade_status_sync notifications received by a local HTTP receiver and
verified by a real client: python-alipay-sdk 3.4.0 (`fzlee`: `AliPay.verify(data, signature)`,
the check its README tells merchants to run on every notification) or alipay-sdk-python
3.7.1411 (`official`: `SignatureUtils.verify_with_rsa` over `get_sign_content` of the form
without `sign` and `sign_type`, as its demo does). A QR trade precreated through the client
with a notify_url is paid through the admin API (TRADE_SUCCESS), partly refunded through the
client (TRADE_SUCCESS with refund_fee, gmt_refund, out_biz_no) and then fully refunded
(TRADE_CLOSED). The first attempt is refused, so the retry on the sandbox clock is exercised;
the admin API must show every notification delivered once `success` was answered.

Usage: PYTHONPATH=<python-alipay-sdk dir> PAYSANDBOX_DATA_DIR=paysandbox-data \
       PAYSANDBOX_ALIPAY_URL=http://127.0.0.1:8080 PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 \
       python3 fidelity/alipay_notify.py fzlee|official
(one client per interpreter: both packages install a top-level module named `alipay`)
"""

import os
import sys
import uuid
from urllib.parse import parse_qsl

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import ALIPAY_SUCCESS, Receiver  # noqa: E402

DATA = os.environ["PAYSANDBOX_DATA_DIR"]
GATEWAY = os.environ["PAYSANDBOX_ALIPAY_URL"].rstrip("/") + "/gateway.do"
ADMIN = os.environ["PAYSANDBOX_ADMIN_URL"].rstrip("/")
APP_ID = "2021000000000001"
KEYS = os.path.join(DATA, "alipay", APP_ID)
RUN = uuid.uuid4().hex[:8]
CLIENT = sys.argv[1] if len(sys.argv) > 1 else "fzlee"


def read(name):
    with open(os.path.join(KEYS, name)) as f:
        return f.read()


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + f"{CLIENT} notify: {name}" + (f"  {detail}" if not condition else ""))
    if not condition:
        sys.exit(1)


def admin(method, path, body=None):
    response = requests.request(method, f"{ADMIN}{path}", json=body)
    response.raise_for_status()
    return response.json()


class Fzlee:
    def __init__(self, alipay_public_key):
        from alipay import AliPay

        self.pay = AliPay(appid=APP_ID, app_notify_url=None, app_private_key_string=read("app_private_key.pem"),
                          alipay_public_key_string=alipay_public_key, sign_type="RSA2")
        self.pay._gateway = GATEWAY

    def precreate(self, out_trade_no, total_amount, notify_url):
        return self.pay.api_alipay_trade_precreate(subject="paysandbox notify", out_trade_no=out_trade_no,
                                                   total_amount=total_amount, notify_url=notify_url)

    def refund(self, amount, out_trade_no, out_request_no):
        return self.pay.api_alipay_trade_refund(refund_amount=amount, out_trade_no=out_trade_no,
                                                out_request_no=out_request_no)

    def verify(self, form):
        """What a merchant does with the POSTed form: take `sign` out, let the SDK verify the rest."""
        data = dict(form)
        signature = data.pop("sign")
        return self.pay.verify(data, signature)


class Official:
    def __init__(self, alipay_public_key):
        # The API calls go through alipay_refund.py's wrapper of the official client.
        from alipay_refund import Official as Calls

        self.calls = Calls(alipay_public_key)
        self.public_key = alipay_public_key

    def precreate(self, out_trade_no, total_amount, notify_url):
        import json

        from alipay.aop.api.request.AlipayTradePrecreateRequest import AlipayTradePrecreateRequest

        request = AlipayTradePrecreateRequest()
        request.biz_content = {"out_trade_no": out_trade_no, "total_amount": total_amount,
                               "subject": "paysandbox notify"}
        request.notify_url = notify_url
        return json.loads(self.calls.client.execute(request))

    def refund(self, amount, out_trade_no, out_request_no):
        return self.calls.refund(amount, out_trade_no, out_request_no)

    def verify(self, form):
        from alipay.aop.api.util.SignatureUtils import get_sign_content, verify_with_rsa

        data = dict(form)
        signature = data.pop("sign")
        data.pop("sign_type", None)
        try:
            return verify_with_rsa(self.public_key, get_sign_content(data).encode("utf-8"), signature)
        except Exception:  # noqa: BLE001 - rsa.VerificationError, or a malformed signature
            return False


def client(alipay_public_key):
    return {"fzlee": Fzlee, "official": Official}[CLIENT](alipay_public_key)


def verify(pay, form):
    return pay.verify(form)


def received_form(receiver):
    note = receiver.next()
    check("notification is a urlencoded POST",
          note.content_type.startswith("application/x-www-form-urlencoded"), note.content_type)
    pairs = parse_qsl(note.body, keep_blank_values=True, strict_parsing=True)
    form = dict(pairs)
    check("no key twice, no empty value", len(form) == len(pairs) and all(pairs), pairs)
    return note.body, form


def main():
    form = "pem" if CLIENT == "fzlee" else "txt"
    pay = client(read(f"alipay_public_key.{form}"))
    impostor = client(read(f"app_public_key.{form}"))
    receiver = Receiver()
    try:
        url = receiver.expect("/alipay/notify", ["fail", ALIPAY_SUCCESS])
        qr = f"{CLIENT}-notify-{RUN}"
        created = pay.precreate(qr, "20.00", url)
        check("precreate with notify_url", created["code"] == "10000", created)
        admin("POST", f"/admin/alipay/trades/{qr}/pay?app_id={APP_ID}")

        body, paid = received_form(receiver)
        check("payment notification verifies with python-alipay-sdk", verify(pay, paid), paid)
        check("payment notification does not verify with another public key", not verify(impostor, paid))
        check("payment notification fields",
              paid["notify_type"] == "trade_status_sync" and paid["trade_status"] == "TRADE_SUCCESS"
              and paid["out_trade_no"] == qr and paid["total_amount"] == "20.00" and paid["app_id"] == APP_ID
              and paid["sign_type"] == "RSA2" and "refund_fee" not in paid, paid)
        tampered = dict(paid, total_amount="0.01")
        check("a tampered amount does not verify", not verify(pay, tampered))
        # The receiver has the body before the sandbox has read the answer and recorded the
        # attempt (the admin pay did not wait for it): a flush waits for the attempts in flight.
        admin("POST", "/admin/notifications/flush")
        [note] = admin("GET", f"/admin/notifications?platform=alipay&out_trade_no={qr}")
        check("admin: refused first attempt leaves it pending", note["status"] == "pending"
              and note["attempts"][0]["response_excerpt"] == "fail", note)
        admin("POST", "/admin/clock/advance", {"seconds": 240})
        again, paid_again = received_form(receiver)
        check("retry 4 min later: same body, same notify_id", again == body and paid_again["notify_id"] == paid["notify_id"])
        [note] = admin("GET", f"/admin/notifications?platform=alipay&out_trade_no={qr}")
        check("admin: delivered on the second attempt",
              note["status"] == "delivered" and [a["success"] for a in note["attempts"]] == [False, True], note)

        refunded = pay.refund("5.00", qr, f"{qr}-r1")
        check("partial refund", refunded["code"] == "10000" and refunded["fund_change"] == "Y", refunded)
        _, partial = received_form(receiver)
        check("refund notification verifies", verify(pay, partial), partial)
        check("refund notification: TRADE_SUCCESS, refund_fee, out_biz_no, gmt_refund",
              partial["trade_status"] == "TRADE_SUCCESS" and partial["refund_fee"] == "5.00"
              and partial["out_biz_no"] == f"{qr}-r1" and len(partial.get("gmt_refund", "")) == 23
              and partial["notify_id"] != paid["notify_id"], partial)

        admin("POST", "/admin/clock/advance", {"seconds": 4})
        rest = pay.refund("15.00", qr, f"{qr}-r2")
        check("refund of the rest", rest["code"] == "10000" and rest["refund_fee"] == "20.00", rest)
        _, closed = received_form(receiver)
        check("full refund notification verifies", verify(pay, closed), closed)
        check("full refund notification: TRADE_CLOSED, refund_fee 20.00",
              closed["trade_status"] == "TRADE_CLOSED" and closed["refund_fee"] == "20.00"
              and "gmt_close" in closed, closed)
        # The refunds came through the gateway, so the background task delivered them: the
        # receiver may have answered before the engine recorded the attempt. A flush waits for
        # the delivery in progress (drives are serialised) before the listing.
        admin("POST", "/admin/notifications/flush")
        notes = admin("GET", f"/admin/notifications?platform=alipay&out_trade_no={qr}")
        check("admin: three notifications, all delivered",
              len(notes) == 3 and all(n["status"] == "delivered" for n in notes), notes)
        check("nothing else was sent", receiver.nothing_more())
    finally:
        receiver.close()
    print(f"alipay notification fidelity ({CLIENT}): all checks passed")


if __name__ == "__main__":
    main()

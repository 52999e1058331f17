"""Fidelity check: the real wechatpy client, pointed at a running paysandbox, refunds a demo
order, repeats it idempotently, queries it, and checks every response signature with
wechatpy's own signing code (wechatpy itself does not verify responses).

Usage: PAYSANDBOX_DATA_DIR=paysandbox-data PAYSANDBOX_API_URL=https://127.0.0.1:8443 \
       PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 python3 fidelity/wechatpy_refund.py
"""

import os
import sys
import uuid

import requests

from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature

DATA = os.environ["PAYSANDBOX_DATA_DIR"]
API = os.environ["PAYSANDBOX_API_URL"].rstrip("/") + "/"
ADMIN = os.environ["PAYSANDBOX_ADMIN_URL"].rstrip("/")
MCH_ID, APPID, KEY = "1900000109", "wx2421b1c4370ec43b", "paysandboxdemokey000000000000000"
MERCHANT = os.path.join(DATA, "merchants", MCH_ID)
os.environ["REQUESTS_CA_BUNDLE"] = os.path.join(DATA, "ca.pem")


class SandboxPay(WeChatPay):
    API_BASE_URL = API


def verified(result):
    """wechatpy drops falsy values before signing, which is also how the doc drops empties."""
    sign = result.pop("sign")
    assert calculate_signature(result, KEY) == sign, f"response signature mismatch: {result}"
    return result


def check(name, condition):
    print(("ok   " if condition else "FAIL ") + name)
    if not condition:
        sys.exit(1)


for cert in ("pem", "p12"):
    if cert == "pem":
        pay = SandboxPay(APPID, KEY, MCH_ID, mch_cert=os.path.join(MERCHANT, "apiclient_cert.pem"),
                         mch_key=os.path.join(MERCHANT, "apiclient_key.pem"))
    else:
        # wechatpy 1.8 (the PyPI release) takes PEM only; 2.0 mounts requests_pkcs12's adapter
        # on the API base URL with password = mch_id. Do the same here.
        from requests_pkcs12 import Pkcs12Adapter

        pay = SandboxPay(APPID, KEY, MCH_ID)
        pay._http.mount(API, Pkcs12Adapter(pkcs12_filename=os.path.join(MERCHANT, "apiclient_cert.p12"),
                                           pkcs12_password=MCH_ID))
    # Refunds of one order must be a minute apart: move the sandbox clock, not the test.
    requests.post(f"{ADMIN}/admin/clock/advance", json={"seconds": 61}).raise_for_status()
    out_refund_no = f"wechatpy-{cert}-{uuid.uuid4().hex[:12]}"
    order = "demo-order-0002"
    first = verified(pay.refund.apply(total_fee=8800, refund_fee=1, out_refund_no=out_refund_no,
                                      out_trade_no=order))
    check(f"{cert}: refund accepted", first["result_code"] == "SUCCESS" and first["refund_fee"] == "1")
    again = verified(pay.refund.apply(total_fee=8800, refund_fee=1, out_refund_no=out_refund_no,
                                      out_trade_no=order))
    check(f"{cert}: same out_refund_no gives the same refund_id", again["refund_id"] == first["refund_id"])
    try:
        pay.refund.apply(total_fee=8800, refund_fee=2, out_refund_no=out_refund_no, out_trade_no=order)
        check(f"{cert}: mismatch refused", False)
    except WeChatPayException as e:
        check(f"{cert}: mismatch is REFUND_FEE_MISMATCH", e.errcode == "REFUND_FEE_MISMATCH")
    queried = verified(pay.refund.query(out_refund_no=out_refund_no))
    check(f"{cert}: refund query finds it", queried["out_refund_no_0"] == out_refund_no
          and queried["refund_status_0"] in ("PROCESSING", "SUCCESS"))
    state = verified(pay.order.query(out_trade_no=order))
    check(f"{cert}: order is REFUND", state["trade_state"] == "REFUND")

try:
    pay.refund.query(out_refund_no="no-such-refund")
    check("REFUNDNOTEXIST raised", False)
except WeChatPayException as e:
    check("REFUNDNOTEXIST raised", e.errcode == "REFUNDNOTEXIST")
print("wechatpy fidelity: all checks passed")

"""Fidelity check: a real Alipay client, pointed at a running paysandbox, refunds a demo trade,
repeats it idempotently, sends a mismatching repeat, queries the refund and the trade, closes an
unpaid trade, precreates a QR trade that the admin API pays, and fully refunds it. The client's
own response-signature verification must pass on every answer (both clients verify by default),
and must fail when configured with the wrong public key.

Usage (one client per interpreter: both packages install a top-level module named `alipay`):
  PAYSANDBOX_DATA_DIR=paysandbox-data PAYSANDBOX_ALIPAY_URL=http://127.0.0.1:8080 \
  PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 python3 fidelity/alipay_refund.py fzlee
  ... python3 fidelity/alipay_refund.py official

fzlee = PyPI python-alipay-sdk (GET, everything in the query); official = PyPI
alipay-sdk-python (POST, common parameters in the query, biz_content in the body, absolute-form
request line).
"""

import json
import os
import sys
import uuid
from urllib.parse import urlparse

import requests

CLIENT = sys.argv[1] if len(sys.argv) > 1 else "fzlee"
DATA = os.environ["PAYSANDBOX_DATA_DIR"]
GATEWAY = os.environ["PAYSANDBOX_ALIPAY_URL"].rstrip("/") + "/gateway.do"
ADMIN = os.environ["PAYSANDBOX_ADMIN_URL"].rstrip("/")
APP_ID = "2021000000000001"
KEYS = os.path.join(DATA, "alipay", APP_ID)
RUN = uuid.uuid4().hex[:8]


def read(name):
    with open(os.path.join(KEYS, name)) as f:
        return f.read()


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + f"{CLIENT}: {name}" + (f"  {detail}" if not condition else ""))
    if not condition:
        sys.exit(1)


def admin(path, body=None):
    response = requests.post(f"{ADMIN}{path}", json=body or {})
    response.raise_for_status()
    return response.json()


def spacing():
    """Refunds of one trade must be 3 s apart: move the sandbox clock, not the test."""
    admin("/admin/clock/advance", {"seconds": 4})


class Fzlee:
    """fzlee/alipay: verifies every answer itself, raises AliPayValidationError on a bad sign."""

    def __init__(self, alipay_public_key):
        from alipay import AliPay

        self.client = AliPay(appid=APP_ID, app_notify_url=None,
                             app_private_key_string=read("app_private_key.pem"),
                             alipay_public_key_string=alipay_public_key, sign_type="RSA2")
        # The gateway is an instance attribute set from `debug` (spec §10.1).
        self.client._gateway = GATEWAY

    def refund(self, amount, out_trade_no, out_request_no=None):
        extra = {"out_request_no": out_request_no} if out_request_no else {}
        return self.client.api_alipay_trade_refund(refund_amount=amount, out_trade_no=out_trade_no, **extra)

    def refund_query(self, out_trade_no, out_request_no):
        return self.client.api_alipay_trade_fastpay_refund_query(out_request_no, out_trade_no=out_trade_no)

    def query(self, out_trade_no):
        return self.client.api_alipay_trade_query(out_trade_no=out_trade_no)

    def close(self, out_trade_no):
        return self.client.api_alipay_trade_close(out_trade_no=out_trade_no)

    def precreate(self, out_trade_no, total_amount, subject):
        return self.client.api_alipay_trade_precreate(subject=subject, out_trade_no=out_trade_no,
                                                      total_amount=total_amount)


class Official:
    """alipay-sdk-python: execute() verifies the answer and returns the node's text; it raises
    ResponseException on a bad or missing sign."""

    def __init__(self, alipay_public_key):
        from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
        from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
        import alipay.aop.api.util.WebUtils as web_utils

        # The SDK hard-codes port 80/443 and crashes on a URL with a port (spec §10.2). Replace
        # only how the connection is opened; signing, placement and verification are the SDK's.
        def get_http_connection(url, query_string, timeout):
            import http.client

            parsed = urlparse(url)
            cls = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            connection = cls(host=parsed.hostname, port=port, timeout=timeout)
            target = f"{parsed.scheme}://{parsed.hostname}:{port}{parsed.path}?{query_string}"
            return target, connection

        if urlparse(GATEWAY).port not in (None, 80, 443):
            web_utils.get_http_connection = get_http_connection
        config = AlipayClientConfig()
        config.server_url = GATEWAY
        config.app_id = APP_ID
        # PKCS#1 base64 without headers: the only private-key form this SDK loads.
        config.app_private_key = read("app_private_key.txt")
        config.alipay_public_key = alipay_public_key
        config.sign_type = "RSA2"
        self.client = DefaultAlipayClient(alipay_client_config=config)

    def execute(self, request_class, biz):
        import importlib

        module = importlib.import_module(f"alipay.aop.api.request.{request_class}")
        request = getattr(module, request_class)()
        request.biz_content = biz
        return json.loads(self.client.execute(request))

    def refund(self, amount, out_trade_no, out_request_no=None):
        biz = {"out_trade_no": out_trade_no, "refund_amount": amount}
        if out_request_no:
            biz["out_request_no"] = out_request_no
        return self.execute("AlipayTradeRefundRequest", biz)

    def refund_query(self, out_trade_no, out_request_no):
        return self.execute("AlipayTradeFastpayRefundQueryRequest",
                            {"out_trade_no": out_trade_no, "out_request_no": out_request_no})

    def query(self, out_trade_no):
        return self.execute("AlipayTradeQueryRequest", {"out_trade_no": out_trade_no})

    def close(self, out_trade_no):
        return self.execute("AlipayTradeCloseRequest", {"out_trade_no": out_trade_no})

    def precreate(self, out_trade_no, total_amount, subject):
        return self.execute("AlipayTradePrecreateRequest",
                            {"out_trade_no": out_trade_no, "total_amount": total_amount, "subject": subject})


def main():
    make = {"fzlee": Fzlee, "official": Official}[CLIENT]
    alipay_public = read("alipay_public_key.pem") if CLIENT == "fzlee" else read("alipay_public_key.txt")
    pay = make(alipay_public)

    trade = "demo-trade-0002"
    request_no = f"{CLIENT}-{RUN}"
    spacing()
    first = pay.refund("0.01", trade, request_no)
    check("refund accepted, money moved", first["code"] == "10000" and first["fund_change"] == "Y", first)
    again = pay.refund("0.01", trade, request_no)
    check("same out_request_no and amount: success, fund_change N",
          again["code"] == "10000" and again["fund_change"] == "N" and again["refund_fee"] == first["refund_fee"], again)
    spacing()
    mismatch = pay.refund("0.02", trade, request_no)
    check("same out_request_no, other amount: ACQ.DISCORDANT_REPEAT_REQUEST",
          mismatch["code"] == "40004" and mismatch["sub_code"] == "ACQ.DISCORDANT_REPEAT_REQUEST", mismatch)
    found = pay.refund_query(trade, request_no)
    check("refund query finds it", found.get("refund_amount") == "0.01"
          and found.get("refund_status") == "REFUND_SUCCESS" and found.get("out_request_no") == request_no, found)
    never = pay.refund_query(trade, f"{request_no}-never")
    check("refund query of a refund never made: success without refund_amount",
          never["code"] == "10000" and "refund_amount" not in never, never)
    state = pay.query(trade)
    check("trade query: TRADE_SUCCESS after a partial refund", state["trade_status"] == "TRADE_SUCCESS", state)
    missing = pay.query(f"no-such-{RUN}")
    check("unknown trade: ACQ.TRADE_NOT_EXIST", missing.get("sub_code") == "ACQ.TRADE_NOT_EXIST", missing)

    unpaid = f"{CLIENT}-unpaid-{RUN}"
    admin("/admin/alipay/trades", {"app_id": APP_ID, "out_trade_no": unpaid, "total_amount": "5.00",
                                   "status": "WAIT_BUYER_PAY"})
    closed = pay.close(unpaid)
    check("close an unpaid trade", closed["code"] == "10000" and closed["out_trade_no"] == unpaid, closed)
    check("closed trade is TRADE_CLOSED", pay.query(unpaid)["trade_status"] == "TRADE_CLOSED")

    qr = f"{CLIENT}-qr-{RUN}"
    created = pay.precreate(qr, "12.30", "paysandbox fidelity")
    check("precreate gives a QR code", created["code"] == "10000"
          and created["qr_code"].startswith("https://qr.alipay.com/"), created)
    admin(f"/admin/alipay/trades/{qr}/pay?app_id={APP_ID}")
    full = pay.refund("12.30", qr)
    check("full refund without out_request_no of the paid QR trade",
          full["code"] == "10000" and full["refund_fee"] == "12.30", full)
    check("fully refunded trade is TRADE_CLOSED", pay.query(qr)["trade_status"] == "TRADE_CLOSED")

    # The client really verifies: with its own app public key in place of Alipay's it must refuse.
    wrong = read("app_public_key.pem") if CLIENT == "fzlee" else read("app_public_key.txt")
    try:
        make(wrong).query(trade)
        check("a wrong alipay public key is refused", False, "the client accepted the answer")
    except Exception as e:  # noqa: BLE001 - each client raises its own type
        check("a wrong alipay public key is refused", True)
        print(f"     ({type(e).__name__})")
    print(f"alipay fidelity ({CLIENT}): all checks passed")


if __name__ == "__main__":
    main()

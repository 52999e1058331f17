#!/usr/bin/env python3
"""Generates the wechat_v3 known-answer vectors that no official SDK publishes, with tools
independent of paysandbox: the openssl CLI (RSA signatures) and Python's `cryptography`
(AES-256-GCM). Prints the generated vectors as JSON; they were pasted into the `wechat_v3`
section of known_answers.json beside the published ones. Keys: wechatpay-go's published test
key (signatures, read from that section's `keys`) and wechatpay-java's published APIv3 key
(AEAD). PKCS#1 v1.5 signatures are deterministic, so a re-run prints the same signatures; the
AEAD output is deterministic too (fixed nonce).

    python3 protocol/tests/data/wechat_v3_vectors.py
"""
import base64, json, os, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "known_answers.json"), encoding="utf-8") as f:
    _KEY_PEM = json.load(f)["wechat_v3"]["keys"]["merchant_private_key_pem"]
_key_file = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)
_key_file.write(_KEY_PEM)
_key_file.close()
GO_KEY = _key_file.name  # wechatpay-go core/auth/signers test key, PKCS#8 PEM
API_V3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"  # wechatpay-java TestConfig.API_V3_KEY

def openssl_sign(message: bytes) -> str:
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", GO_KEY], input=message,
                         capture_output=True, check=True).stdout
    return base64.b64encode(out).decode()

def request(name, method, url, timestamp, nonce, body, mchid, serial):
    message = f"{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n".encode()
    sig = openssl_sign(message)
    return {"name": name, "method": method, "url": url, "timestamp": str(timestamp), "nonce": nonce,
            "body": body, "mchid": mchid, "serial_no": serial, "message": message.decode(),
            "signature": sig,
            "authorization": f'WECHATPAY2-SHA256-RSA2048 mchid="{mchid}",nonce_str="{nonce}",'
                             f'timestamp="{timestamp}",serial_no="{serial}",signature="{sig}"'}

def response(name, timestamp, nonce, body, serial):
    message = f"{timestamp}\n{nonce}\n{body}\n".encode()
    return {"name": name, "timestamp": str(timestamp), "nonce": nonce, "body": body,
            "serial": serial, "message": message.decode(), "signature": openssl_sign(message)}

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

refund_body = json.dumps({"out_trade_no": "1217752501201407033233368018",
    "out_refund_no": "1217752501201407033233368018-R1", "reason": "商品已售完",
    "notify_url": "https://weixin.qq.com/refund", "amount": {"refund": 888, "total": 888, "currency": "CNY"}},
    ensure_ascii=False, separators=(",", ":"))
requests = [
    request("GET order query, message shape of wechatpay-java WechatPay2CredentialTest", "GET",
            "/v3/pay/transactions/id/1217752501201407033233368018?mchid=1230000109", 1652750623,
            "eBYqCOxa0QudMnPvVilkTzOg3gHh5Z3u", "", "1230000109", "F5765756002FDD77"),
    request("POST refund with a UTF-8 body", "POST", "/v3/refund/domestic/refunds", 1700000000,
            "593BEC0C930BF1AFEB40B4A08C8FB242", refund_body, "1230000109", "F5765756002FDD77"),
]
responses = [
    response("204 No Content (close): empty body line", 1700000001, "c5ac7061fccab6bf3e254dcf98995b8c", "",
             "D7CE59D1F522D701"),
]

plaintext = json.dumps({"mchid": "1230000109", "transaction_id": "1217752501201407033233368018",
    "out_trade_no": "1217752501201407033233368018", "refund_id": "50000000382019052709732678859",
    "out_refund_no": "1217752501201407033233368018-R1", "refund_status": "SUCCESS",
    "success_time": "2026-11-30T13:29:35+08:00", "user_received_account": "支付用户零钱",
    "amount": {"total": 888, "refund": 888, "payer_total": 888, "payer_refund": 888}},
    ensure_ascii=False, separators=(",", ":"))
nonce, aad = "fdasflkja484", "refund"
ciphertext = base64.b64encode(AESGCM(API_V3_KEY.encode()).encrypt(nonce.encode(), plaintext.encode(), aad.encode())).decode()
notification = {"id": "EV-2018022511223320873", "create_time": "2026-11-30T13:29:36+08:00",
    "resource_type": "encrypt-resource", "event_type": "REFUND.SUCCESS", "summary": "退款成功",
    "resource": {"original_type": "refund", "algorithm": "AEAD_AES_256_GCM", "ciphertext": ciphertext,
                 "associated_data": aad, "nonce": nonce}}
os.unlink(GO_KEY)
print(json.dumps({"requests": requests, "responses": responses,
                  "notification": {"api_v3_key": API_V3_KEY, "body": json.dumps(notification, ensure_ascii=False, separators=(",", ":")),
                                   "plaintext": plaintext}}, ensure_ascii=False, indent=1))

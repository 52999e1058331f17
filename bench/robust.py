#!/usr/bin/env python3
"""Robustness checks of issue 12, re-run the way they were measured: python3 bench/robust.py [BIN]

Starts `paysandbox serve` (BIN, default target/release/paysandbox) on loopback ports 39443,
39080, 39444 with a fresh data directory, then, each bounded and on 127.0.0.1 only:
  - journal: REQUESTS (400) unauthenticated ~1 MB POSTs to the plain-HTTP API; the server's
    RSS before, after, and after DELETE /admin/journal;
  - slowloris: CONNS (2,000) connections held open (a third idle, a third with half a request
    head, a third with a body announced and never sent), then a signed refund query on
    plain HTTP and GET /admin/clock, each timed;
  - admin input: the clock advance of u64::MAX seconds and millis, a fault http_status 100;
  - cross-origin: a text/plain POST with Origin http://evil.example;
  - slow merchant: SLOW (12) refunds whose notify_url is a loopback listener that accepts and
    never answers, each forced to SUCCESS through the admin API (so each notification is due
    at once), then an admin POST while those attempts hang, each timed.
Prints one JSON object of figures. Everything it starts is stopped at the end.
"""

import hashlib
import json
import os
import re
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/paysandbox"
API, HTTP, ADMIN = 39443, 39080, 39444
REQUESTS = int(os.environ.get("REQUESTS", "400"))
CONNS = int(os.environ.get("CONNS", "2000"))
SLOW = int(os.environ.get("SLOW", "12"))
MCH, APPID, KEY = "1900000109", "wx2421b1c4370ec43b", "paysandboxdemokey000000000000000"


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def admin(method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{ADMIN}{path}", data=data, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def signed_xml(fields):
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if v) + f"&key={KEY}"
    fields = dict(fields, sign=hashlib.md5(text.encode()).hexdigest().upper())
    return "<xml>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</xml>"


def post_api(path, body, timeout=30):
    req = urllib.request.Request(f"http://127.0.0.1:{HTTP}{path}", data=body, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def slow_merchant(ready):
    """Issue 12's slow merchant: notifications to a receiver that never answers must not hold
    up the admin API."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    listener.settimeout(0.2)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/notify"
    accepted, stop = [], threading.Event()

    def hold():
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except socket.timeout:
                continue

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    merchant = next(m for m in ready["merchants"] if m["mch_id"] == MCH)
    tls = ssl.create_default_context(cafile=ready["ca_path"])
    tls.load_cert_chain(merchant["cert_path"], merchant["key_path"])
    refund_ids = []
    try:
        for i in range(SLOW):
            order = f"slow-order-{i}"
            admin("POST", "/admin/wechat/orders", {"mch_id": MCH, "out_trade_no": order, "total_fee": 1000})
            body = signed_xml({"appid": APPID, "mch_id": MCH, "nonce_str": f"slow{i:04d}",
                               "out_trade_no": order, "out_refund_no": f"slow-{i}",
                               "total_fee": "1000", "refund_fee": "100", "notify_url": url}).encode()
            req = urllib.request.Request(f"https://127.0.0.1:{API}/secapi/pay/refund", data=body, method="POST")
            with urllib.request.urlopen(req, timeout=30, context=tls) as r:
                found = re.search(r"<refund_id>(?:<!\[CDATA\[)?(\w+)", r.read().decode())
            if found:
                refund_ids.append(found.group(1))
        t = time.monotonic()
        for refund_id in refund_ids:
            admin("POST", f"/admin/wechat/refunds/{refund_id}/status", {"status": "SUCCESS"})
        forced_ms = (time.monotonic() - t) * 1000
        deadline = time.monotonic() + 10
        while len(accepted) < len(refund_ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        hanging = len(accepted)
        t = time.monotonic()
        status, _ = admin("POST", "/admin/wechat/orders",
                          {"mch_id": MCH, "out_trade_no": "after-the-slow-ones", "total_fee": 1})
        return {
            "refunds": len(refund_ids),
            "attempts_hanging": hanging,
            "forcing_all_ms": round(forced_ms, 1),
            "next_admin_post_status": status,
            "next_admin_post_ms": round((time.monotonic() - t) * 1000, 1),
        }
    finally:
        stop.set()
        holder.join()
        for c in accepted:
            c.close()
        listener.close()


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    data = tempfile.mkdtemp(prefix="paysandbox-robust-")
    serve = subprocess.Popen(
        [BIN, "serve", "--data-dir", data, "--api-addr", f"127.0.0.1:{API}",
         "--http-addr", f"127.0.0.1:{HTTP}", "--admin-addr", f"127.0.0.1:{ADMIN}",
         "--ready-file", f"{data}/ready.json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = {"binary": BIN}
    try:
        for _ in range(600):
            if os.path.exists(f"{data}/ready.json"):
                break
            time.sleep(0.1)
        pid = serve.pid
        out["rss_start_mib"] = rss_mib(pid)
        big = ("<xml><mch_id>x</mch_id><attach>" + "a" * 1_000_000 + "</attach></xml>").encode()
        for _ in range(REQUESTS):
            post_api("/pay/refundquery", big)
        out["journal"] = {"requests": REQUESTS, "rss_after_mib": rss_mib(pid)}
        admin("DELETE", "/admin/journal")
        out["journal"]["rss_after_clear_mib"] = rss_mib(pid)

        held = []
        for i in range(CONNS):
            s = socket.create_connection(("127.0.0.1", HTTP if i % 2 else API))
            if i % 3 == 1:
                s.sendall(b"POST /pay/refundquery HTTP/1.1\r\nHost: x\r\n")
            elif i % 3 == 2:
                s.sendall(b"POST /pay/refundquery HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
            held.append(s)
        query = signed_xml({"appid": APPID, "mch_id": MCH, "nonce_str": "robust0001",
                            "out_trade_no": "demo-order-0001"}).encode()
        t = time.monotonic()
        status, text = post_api("/pay/refundquery", query, timeout=30)
        out["slowloris"] = {
            "connections": CONNS,
            "refund_query_status": status,
            "refund_query_ms": round((time.monotonic() - t) * 1000, 1),
            "answered": "<return_code><![CDATA[SUCCESS]]>" in text or "SUCCESS" in text,
        }
        t = time.monotonic()
        status, _ = admin("GET", "/admin/clock")
        out["slowloris"]["admin_status"] = status
        out["slowloris"]["admin_ms"] = round((time.monotonic() - t) * 1000, 1)
        for s in held:
            s.close()

        status, text = admin("POST", "/admin/clock/advance",
                             {"seconds": 18446744073709551615, "millis": 18446744073709551615})
        out["clock_overflow"] = {"status": status, "answer": json.loads(text)}
        status, text = admin("POST", "/admin/clock/advance", {"seconds": 18446744073709551615})
        out["clock_seconds_only"] = {"status": status, "field": json.loads(text).get("field")}
        status, text = admin("POST", "/admin/wechat/orders", {
            "mch_id": MCH, "out_trade_no": "coupon-overflow", "total_fee": 1000,
            "coupons": [{"kind": "CASH", "fee": 18446744073709551615}] * 2})
        out["coupon_overflow"] = {"status": status, "field": json.loads(text).get("field")}
        status, text = admin("POST", "/admin/wechat/orders",
                             {"mch_id": MCH, "out_trade_no": "bad\u0001no", "total_fee": 1000})
        out["control_character_id"] = {"status": status, "field": json.loads(text).get("field")}
        before = json.loads(admin("GET", "/admin/clock")[1])
        admin("POST", "/admin/clock/advance", {"seconds": 86400 * 400})
        admin("POST", "/admin/reset", {})
        after = json.loads(admin("GET", "/admin/clock")[1])
        out["reset_clock"] = {"before": before.get("beijing"), "after_advance_and_reset": after.get("beijing")}
        status, text = admin("POST", "/admin/faults", {"endpoint": "wechat.refund", "http_status": 100})
        out["fault_status_100"] = {"status": status}
        status, text = admin("POST", "/admin/reset", {},
                             {"Origin": "http://evil.example", "Content-Type": "text/plain"})
        out["cross_origin"] = {"status": status}
        with open(f"{data}/ready.json") as f:
            out["slow_merchant"] = slow_merchant(json.load(f))
        out["alive"] = admin("GET", "/admin/health")[0] == 200
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()

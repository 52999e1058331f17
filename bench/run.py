#!/usr/bin/env python3
"""The paysandbox load benchmark, one command: python3 bench/run.py

Builds the release binaries, installs nginx-light if it is missing (apt-get, says so), then
for each scale (1,000 and 1,000,000 seeded orders by default):
  - starts `paysandbox serve` on loopback (rate limits, refund spacing and the 50-refund cap
    off: load-test switches) and measures its idle RSS;
  - seeds the orders through POST /admin/wechat/orders/bulk (NDJSON) and times it, and
    measures the RSS growth per seeded order;
  - runs paysandbox-bench against it: refund, query, mix (80 % query / 20 % refund) over
    keep-alive mutual-TLS connections, and a full TLS handshake per request;
and once starts nginx on loopback with the same certificates, `ssl_verify_client on` and a
fixed refund XML (the practical ceiling), and runs the same scenarios against it.
Every figure is the median of ROUNDS runs, after one discarded warm-up run per target. Everything listens on 127.0.0.1 and is stopped
at the end. Environment: ROUNDS (3), RUN_SECONDS (5), CONNECTIONS (64), SCALES
("1000 1000000"), PORT_OFFSET (0: ports 29443, 29080, 29444, 29543 and the next ones).

The Alipay part (SUITES contains "alipay"): `alipay.trade.query` on the demo app's paid trades
over plain-HTTP keep-alive connections, requests RSA2-signed before the timed run, so each
answer costs the gateway one RSA-2048 verification and one signature; measured against the
machine's RSA-2048 signing ceiling, `openssl speed -multi 2 rsa2048`, in the same run.
ALIPAY_BASELINE=/path/to/an/older/paysandbox measures that binary too, in the same run, for a
before/after figure. SUITES ("wechat alipay persist v3") picks the parts.

The persistence part (SUITES contains "persist"): the refund scenario on PERSIST_ORDERS
(1,000) seeded orders, once with the state in memory only and once with `serve --persist`
(every refund fsynced before its answer, group commit), the same load generator and
connections; refunds/s of both, their ratio, and the store's size at the end.

The WeChat Pay API v3 part (SUITES contains "v3"): `POST /v3/refund/domestic/refunds` (every
request a new 1-fen refund) and `GET /v3/refund/domestic/refunds/{out_refund_no}` over
plain-HTTP keep-alive connections, requests signed with the demo merchant's API key before the
timed run, so each answer costs the mock one RSA-2048 verification and one signature; each run
bracketed by `openssl speed -multi 2 rsa2048` like the Alipay part.
"""

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
RUN_SECONDS = float(os.environ.get("RUN_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
SCALES = [int(s) for s in os.environ.get("SCALES", "1000 1000000").split()]
SUITES = os.environ.get("SUITES", "wechat alipay persist v3").split()
PERSIST_ORDERS = int(os.environ.get("PERSIST_ORDERS", "1000"))
ALIPAY_BASELINE = os.environ.get("ALIPAY_BASELINE")
ALIPAY_APP = "2021000000000001"
# v3 requests signed before each timed run: enough new refunds for 5 s near the ceiling (more
# would repeat earlier out_refund_nos, answered as the same refund, at the same RSA cost).
V3_REQUESTS = int(os.environ.get("V3_REQUESTS", "12000"))
# PORT_OFFSET moves every port (another run, or anything else, on the defaults).
_OFFSET = int(os.environ.get("PORT_OFFSET", "0"))
API, HTTP, ADMIN, NGINX = (p + _OFFSET for p in (29443, 29080, 29444, 29543))
MCH = "1900000109"
ORDER_TOTAL = 1_000_000

STATIC_REFUND = (
    "<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n<return_msg><![CDATA[OK]]></return_msg>\n"
    "<appid><![CDATA[wx2421b1c4370ec43b]]></appid>\n<mch_id><![CDATA[1900000109]]></mch_id>\n"
    "<nonce_str><![CDATA[eBAYKF0bXqi6KF5v]]></nonce_str>\n<result_code><![CDATA[SUCCESS]]></result_code>\n"
    "<transaction_id><![CDATA[4200097541202611247279394662]]></transaction_id>\n"
    "<out_trade_no><![CDATA[bench-00000001]]></out_trade_no>\n<out_refund_no><![CDATA[r-1]]></out_refund_no>\n"
    "<refund_id><![CDATA[50300800844720261124281420221]]></refund_id>\n<refund_channel><![CDATA[]]></refund_channel>\n"
    "<refund_fee>1</refund_fee>\n<settlement_refund_fee>1</settlement_refund_fee>\n<coupon_refund_fee>0</coupon_refund_fee>\n"
    "<total_fee>1000000</total_fee>\n<settlement_total_fee>1000000</settlement_total_fee>\n<fee_type><![CDATA[CNY]]></fee_type>\n"
    "<cash_fee>1000000</cash_fee>\n<cash_fee_type><![CDATA[CNY]]></cash_fee_type>\n<coupon_refund_count>0</coupon_refund_count>\n"
    "<cash_refund_fee>1</cash_refund_fee>\n<sign><![CDATA[5580E365234252900B31DB1B8B6D75BB]]></sign>\n</xml>"
)


def say(message):
    print(message, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def admin(path, body=None, data=None, timeout=600, port=ADMIN):
    payload = data if data is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=payload,
                                     method="POST" if payload is not None else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_ready(port=ADMIN):
    for _ in range(200):
        try:
            admin("/admin/clock", port=port)
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the sandbox did not start")


def ensure_nginx():
    if shutil.which("nginx"):
        return shutil.which("nginx")
    say("nginx is missing: installing nginx-light with apt-get (the static-responder ceiling)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
    run(["apt-get", "install", "-y", "-qq", "nginx-light"], env=env, stdout=subprocess.DEVNULL)
    return shutil.which("nginx") or "/usr/sbin/nginx"


class Bench:
    def __init__(self, data):
        merchant = os.path.join(data, "merchants", MCH)
        self.base = [os.path.join(ROOT, "target/release/paysandbox-bench"),
                     "--ca", os.path.join(data, "ca.pem"),
                     "--cert", os.path.join(merchant, "apiclient_cert.pem"),
                     "--key", os.path.join(merchant, "apiclient_key.pem"),
                     "--order-total", str(ORDER_TOTAL)]

    def once(self, port, label, scenario, orders, extra):
        out = subprocess.run(self.base + ["--target", f"127.0.0.1:{port}", "--label", label,
                                          "--scenario", scenario, "--seconds", str(RUN_SECONDS),
                                          "--connections", str(CONNECTIONS), "--orders", str(orders)] + extra,
                             check=True, capture_output=True, text=True).stdout
        fields = dict(re.findall(r"(\w+)=\s*(\d+)", out))
        return {k: int(v) for k, v in fields.items()}

    def scenarios(self, port, label, orders):
        """Median figures of each scenario; refunds first, so queries find refunds."""
        results = {}
        runs = {"refund": [], "query": [], "mix": [], "handshake": []}
        first_tag, made = None, 0
        # A discarded warm-up run: the first seconds of a fresh process (page faults as its
        # tables grow, cold caches) measured consistently slower than the rest.
        self.once(port, label, "refund", orders, ["--run-tag", f"{label}{orders}warm{int(time.time())}"])
        for round_no in range(ROUNDS):
            tag = f"{label}{orders}r{round_no}{int(time.time())}"
            r = self.once(port, label, "refund", orders, ["--run-tag", tag])
            runs["refund"].append(r)
            if first_tag is None:
                first_tag, made = tag, r["requests"] - r["errors"]
        query = ["--query-tag", first_tag, "--query-count", str(max(made, 1))]
        for round_no in range(ROUNDS):
            runs["query"].append(self.once(port, label, "query", orders, query))
            runs["mix"].append(self.once(port, label, "mix", orders,
                                         query + ["--run-tag", f"{label}{orders}m{round_no}{int(time.time())}"]))
            runs["handshake"].append(self.once(port, label, "handshake", orders, query))
        for name, samples in runs.items():
            results[name] = {k: statistics.median(s[k] for s in samples) for k in ("rps", "p50_us", "p99_us")}
            results[name]["errors"] = sum(s["errors"] for s in samples)
        return results


def start_sandbox(data, binary=None, offset=0, extra=()):
    """Starts `paysandbox serve`; `offset` shifts its three ports (two sandboxes side by side)."""
    binary = binary or os.path.join(ROOT, "target/release/paysandbox")
    process = subprocess.Popen([binary, "serve", "--data-dir", data,
                                "--api-addr", f"127.0.0.1:{API + offset}", "--http-addr", f"127.0.0.1:{HTTP + offset}",
                                "--admin-addr", f"127.0.0.1:{ADMIN + offset}", "--no-rate-limits", "--no-refund-spacing",
                                "--max-refunds-per-order", "1000000000", *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(ADMIN + offset)
    return process


def seed(orders):
    lines = "".join(
        f'{{"mch_id":"{MCH}","out_trade_no":"bench-{i:08d}","total_fee":{ORDER_TOTAL}}}\n' for i in range(orders)
    ).encode()
    started = time.monotonic()
    report = admin("/admin/wechat/orders/bulk", data=lines)
    wall = time.monotonic() - started
    if report.get("seeded") != orders:
        raise SystemExit(f"seeding failed: {report}")
    return wall, len(lines)


def start_nginx(nginx, data, workdir):
    body = STATIC_REFUND.replace("\n", "\\n").replace('"', '\\"')
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 2;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  server {{
    listen 127.0.0.1:{NGINX} ssl;
    ssl_certificate {data}/server.pem;
    ssl_certificate_key {data}/server.key.pem;
    ssl_client_certificate {data}/ca.pem;
    ssl_verify_client on;
    ssl_session_cache off;
    ssl_session_tickets off;
    location / {{ default_type text/xml; return 200 "{body}"; }}
  }}
}}
""")
    run([nginx, "-c", conf, "-p", workdir])
    time.sleep(0.3)
    return conf


def openssl_rsa2048_signs_per_second(seconds):
    """The machine's RSA-2048 signing ceiling: `openssl speed -multi 2 rsa2048`, sign/s."""
    out = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "-multi", "2", "rsa2048"],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        # "rsa 2048 bits 0.000369s 0.000023s   2712.0  43380.0": sign/s is the sixth field.
        if line.startswith("rsa 2048 bits") and len(fields) >= 7:
            return float(fields[5])
    raise SystemExit(f"cannot read openssl speed output:\n{out}")


def alipay_query_once(data, label, port):
    key = os.path.join(data, "alipay", ALIPAY_APP, "app_private_key.pem")
    cmd = [os.path.join(ROOT, "target/release/paysandbox-bench"), "--target", f"127.0.0.1:{port}",
           "--scenario", "alipay-query", "--alipay-app-key", key, "--alipay-app-id", ALIPAY_APP,
           "--seconds", str(RUN_SECONDS), "--connections", str(CONNECTIONS), "--label", label]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {k: int(v) for k, v in re.findall(r"(\w+)=\s*(\d+)", out)}


def alipay_suite(workdir):
    """Every round measures each binary once, each measurement bracketed by two short
    `openssl speed` runs: the machine is shared, so the ceiling is taken right beside the
    figure it is compared with, and the ratio is per measurement."""
    data = os.path.join(workdir, "alipay-data")
    binaries = [("current", None)]
    if ALIPAY_BASELINE:
        binaries.insert(0, ("baseline", ALIPAY_BASELINE))
    sandboxes = []
    try:
        # One after the other: the first creates the keys the second reads.
        for offset, (label, binary) in enumerate(binaries):
            sandboxes.append(start_sandbox(data, binary, offset * 10))
        time.sleep(0.5)
        samples = {label: [] for label, _ in binaries}
        for round_no in range(ROUNDS + 1):
            for offset, (label, _) in enumerate(binaries):
                port = HTTP + offset * 10
                if round_no == 0:
                    alipay_query_once(data, label, port)  # warm-up, discarded
                    continue
                before = openssl_rsa2048_signs_per_second(2)
                result = alipay_query_once(data, label, port)
                after = openssl_rsa2048_signs_per_second(2)
                ceiling = (before + after) / 2
                result["ceiling"] = ceiling
                result["ratio"] = result["rps"] / ceiling
                samples[label].append(result)
    finally:
        for sandbox in sandboxes:
            sandbox.send_signal(signal.SIGINT)
            sandbox.wait(timeout=30)
    say("")
    say(f"alipay.trade.query, plain HTTP keep-alive, {CONNECTIONS} connections, {ROUNDS} rounds of {RUN_SECONDS:g} s "
        f"after a warm-up; each run bracketed by `openssl speed -seconds 2 -multi 2 rsa2048` (the ceiling)")
    say(f"{'binary':<10} {'answers/s':>10} {'p50 µs':>8} {'p99 µs':>8} {'ceiling':>8} {'of ceiling':>11} "
        f"{'per run':>24} {'errors':>7}")
    for label, binary in binaries:
        runs = samples[label]
        med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_us", "p99_us", "ceiling", "ratio")}
        per_run = " ".join(f"{r['ratio']:.0%}" for r in runs)
        say(f"{label:<10} {med['rps']:>10.0f} {med['p50_us']:>8.0f} {med['p99_us']:>8.0f} {med['ceiling']:>8.0f} "
            f"{med['ratio']:>10.0%} {per_run:>24} {sum(r['errors'] for r in runs):>7}   "
            f"{binary or 'target/release/paysandbox'}")


def v3_once(data, scenario, label, tag, query_count=1):
    view = admin(f"/admin/wechat/merchants/{MCH}/v3")
    cmd = [os.path.join(ROOT, "target/release/paysandbox-bench"), "--target", f"127.0.0.1:{HTTP}",
           "--scenario", scenario, "--v3-key", view["private_key_path"], "--v3-serial", view["merchant_serial_no"],
           "--orders", "1000", "--order-total", str(ORDER_TOTAL), "--run-tag", tag, "--query-tag", tag,
           "--query-count", str(query_count), "--v3-requests", str(V3_REQUESTS), "--seconds", str(RUN_SECONDS),
           "--connections", str(CONNECTIONS), "--label", label]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {k: int(v) for k, v in re.findall(r"(\w+)=\s*(\d+)", out)}


def v3_suite(workdir):
    """v3 refunds, then queries of the refunds the first run made, each run bracketed by two
    short `openssl speed` runs (the ceiling beside the figure it is compared with)."""
    data = os.path.join(workdir, "v3-data")
    sandbox = start_sandbox(data)
    samples = {"v3-refund": [], "v3-query": []}
    try:
        seed(1000)
        warm = v3_once(data, "v3-refund", "warm-up", "v3w")  # warm-up, discarded; its refunds are queried
        made = max(1, min(warm["requests"] - warm["errors"], 2000))
        v3_once(data, "v3-query", "warm-up", "v3w", made)
        for round_no in range(ROUNDS):
            for scenario in ("v3-refund", "v3-query"):
                before = openssl_rsa2048_signs_per_second(2)
                result = v3_once(data, scenario, "mock", f"v3r{round_no}" if scenario == "v3-refund" else "v3w", made)
                after = openssl_rsa2048_signs_per_second(2)
                result["ceiling"] = (before + after) / 2
                result["ratio"] = result["rps"] / result["ceiling"]
                samples[scenario].append(result)
    finally:
        sandbox.send_signal(signal.SIGINT)
        sandbox.wait(timeout=30)
    say("")
    say(f"WeChat Pay API v3, plain HTTP keep-alive, {CONNECTIONS} connections, {ROUNDS} rounds of {RUN_SECONDS:g} s "
        f"after a warm-up; each run bracketed by `openssl speed -seconds 2 -multi 2 rsa2048` (the ceiling)")
    say(f"{'scenario':<10} {'answers/s':>10} {'p50 µs':>8} {'p99 µs':>8} {'ceiling':>8} {'of ceiling':>11} "
        f"{'per run':>24} {'errors':>7}")
    for scenario, runs in samples.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_us", "p99_us", "ceiling", "ratio")}
        per_run = " ".join(f"{r['ratio']:.0%}" for r in runs)
        say(f"{scenario:<10} {med['rps']:>10.0f} {med['p50_us']:>8.0f} {med['p99_us']:>8.0f} {med['ceiling']:>8.0f} "
            f"{med['ratio']:>10.0%} {per_run:>24} {sum(r['errors'] for r in runs):>7}")


def persist_suite(workdir):
    """Refunds/s with the state in memory only and with `--persist`, same load, same machine."""
    data = os.path.join(workdir, "data")
    store = os.path.join(workdir, "state.redb")
    figures = {}
    for label, extra in (("off", ()), ("on", ("--persist", store))):
        sandbox = start_sandbox(data, extra=extra)
        try:
            seed(PERSIST_ORDERS)
            bench = Bench(data)
            bench.once(API, label, "refund", PERSIST_ORDERS, ["--run-tag", f"p{label}warm{int(time.time())}"])
            samples = [bench.once(API, label, "refund", PERSIST_ORDERS,
                                  ["--run-tag", f"p{label}{r}{int(time.time())}"]) for r in range(ROUNDS)]
            figures[label] = {k: statistics.median(s[k] for s in samples) for k in ("rps", "p50_us", "p99_us")}
            figures[label]["errors"] = sum(s["errors"] for s in samples)
        finally:
            sandbox.send_signal(signal.SIGINT)
            sandbox.wait(timeout=30)
    size = os.path.getsize(store) if os.path.exists(store) else 0
    say("")
    say(f"persistence: refund scenario, {PERSIST_ORDERS} orders, medians of {ROUNDS} runs of {RUN_SECONDS:g} s, "
        f"{CONNECTIONS} connections")
    say(f"{'persist':<8} {'refunds/s':>10} {'p50 µs':>8} {'p99 µs':>8} {'errors':>7}")
    for label in ("off", "on"):
        f = figures[label]
        say(f"{label:<8} {f['rps']:>10.0f} {f['p50_us']:>8.0f} {f['p99_us']:>8.0f} {f['errors']:>7}")
    ratio = figures["on"]["rps"] / max(figures["off"]["rps"], 1)
    say(f"on / off: {ratio:.0%} (targets: on >= 10,000 refunds/s, >= 25 % of off); "
        f"store {size / 1e6:.1f} MB at the end")


def main():
    if not sys.platform.startswith("linux"):
        raise SystemExit("the benchmark reads /proc: Linux only")
    say("building release binaries (cargo build --release -p paysandbox-mock-server -p paysandbox-bench)")
    run(["cargo", "build", "--release", "-q", "-p", "paysandbox-mock-server", "-p", "paysandbox-bench"], cwd=ROOT)
    if "v3" in SUITES:
        workdir = tempfile.mkdtemp(prefix="paysandbox-bench-v3-")
        try:
            v3_suite(workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if "alipay" in SUITES:
        workdir = tempfile.mkdtemp(prefix="paysandbox-bench-alipay-")
        try:
            alipay_suite(workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if "persist" in SUITES:
        workdir = tempfile.mkdtemp(prefix="paysandbox-bench-persist-")
        try:
            persist_suite(workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if "wechat" not in SUITES:
        return
    nginx = ensure_nginx()
    workdir = tempfile.mkdtemp(prefix="paysandbox-bench-")
    data = os.path.join(workdir, "data")
    rows, memory = {}, []
    ceiling = None
    try:
        for orders in SCALES:
            sandbox = start_sandbox(data)
            try:
                time.sleep(0.5)
                idle = rss_kib(sandbox.pid)
                wall, size = seed(orders)
                seeded = rss_kib(sandbox.pid)
                memory.append((orders, idle, seeded, wall, size))
                say(f"{orders} orders seeded in {wall:.2f} s; RSS idle {idle / 1024:.1f} MiB, "
                    f"seeded {seeded / 1024:.1f} MiB")
                rows[orders] = Bench(data).scenarios(API, "mock", orders)
            finally:
                sandbox.send_signal(signal.SIGINT)
                sandbox.wait(timeout=30)
        conf = start_nginx(nginx, data, workdir)
        try:
            ceiling = Bench(data).scenarios(NGINX, "nginx", SCALES[0])
        finally:
            subprocess.run([nginx, "-c", conf, "-p", workdir, "-s", "stop"], check=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    say("")
    say(f"medians of {ROUNDS} runs of {RUN_SECONDS:g} s, {CONNECTIONS} connections, "
        f"{os.cpu_count()} cores shared with the load generator")
    header = f"{'scenario':<10} {'orders':>8} {'mock rps':>10} {'p50 µs':>8} {'p99 µs':>8} " \
             f"{'nginx rps':>10} {'p50 µs':>8} {'p99 µs':>8} {'mock/nginx':>11} {'p99 ratio':>10}"
    say(header)
    for scenario in ("refund", "query", "mix", "handshake"):
        n = ceiling[scenario]
        for orders in SCALES:
            m = rows[orders][scenario]
            say(f"{scenario:<10} {orders:>8} {m['rps']:>10.0f} {m['p50_us']:>8.0f} {m['p99_us']:>8.0f} "
                f"{n['rps']:>10.0f} {n['p50_us']:>8.0f} {n['p99_us']:>8.0f} "
                f"{m['rps'] / n['rps']:>10.0%} {m['p99_us'] / max(n['p99_us'], 1):>9.2f}x")
    errors = sum(r[s]["errors"] for r in rows.values() for s in r) + sum(ceiling[s]["errors"] for s in ceiling)
    say(f"errors (non-SUCCESS answers) over all runs: {errors}")
    if len(SCALES) > 1:
        small, large = SCALES[0], SCALES[-1]
        for scenario in ("refund", "query"):
            ratio = rows[large][scenario]["rps"] / rows[small][scenario]["rps"]
            say(f"{scenario}: {large} orders at {ratio:.0%} of the {small}-order throughput")
    for orders, idle, seeded, wall, size in memory:
        # Below ~100k orders the growth is dominated by allocator segments, not by orders.
        per_order = f"{(seeded - idle) * 1024 / orders:.0f} bytes/order" if orders >= 100_000 else "bytes/order n/a"
        say(f"{orders:>8} orders: idle RSS {idle / 1024:.1f} MiB, {per_order}, "
            f"bulk seeding {wall:.2f} s ({size / 1e6:.0f} MB NDJSON)")


if __name__ == "__main__":
    main()

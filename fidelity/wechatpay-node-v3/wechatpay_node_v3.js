// Fidelity check: wechatpay-node-v3 (klover2, npm), an API v3 client, against a running
// paysandbox, through the client's replaceable HTTP layer (`pay.createHttp(service)`): the
// layer below sends what the client addresses to https://api.mch.weixin.qq.com to the sandbox,
// trusting the sandbox CA. The client signs the path before the layer sees the URL.
//
// wechatpay-node-v3 knows platform certificates only (no PUB_KEY_ID), so the merchant it gets
// from the admin API is in certificate mode. It does not verify answers by itself; its
// `verifySign()` (written for notifications) does, fetching /v3/certificates through the same
// layer and decrypting them with the APIv3 key. Every 2xx answer below goes through it, and a
// tampered body must fail it.
//
// Flow: H5 and JSAPI prepay, the buyer pays (admin API), order query, refund, idempotent
// repeat, refund query (PROCESSING, then SUCCESS once the sandbox clock has moved), close (a
// signed 204), and each refusal: SIGN_ERROR, NOT_ENOUGH, RESOURCE_NOT_EXISTS, INVALID_REQUEST,
// FREQUENCY_LIMITED.
//
// Usage: PAYSANDBOX_DATA_DIR=paysandbox-data PAYSANDBOX_API_URL=https://127.0.0.1:8443 \
//        PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 NODE_PATH=<dir>/node_modules \
//        node fidelity/wechatpay_node_v3.js
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const Pay = require('wechatpay-node-v3');

const DATA = process.env.PAYSANDBOX_DATA_DIR;
const API = new URL(process.env.PAYSANDBOX_API_URL);
const ADMIN = process.env.PAYSANDBOX_ADMIN_URL.replace(/\/$/, '');
const REAL = 'https://api.mch.weixin.qq.com';
const APPID = 'wx2421b1c4370ec43b';
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
const APIV3_KEY = 'paysandboxfidelitynode000000v3v3';
const RUN = crypto.randomBytes(5).toString('hex');
const MCH_ID = '16' + String(parseInt(RUN, 16) % 1e8).padStart(8, '0');
const CA = fs.readFileSync(path.join(DATA, 'ca.pem'));

function check(name, ok, detail) {
  if (!ok) {
    console.log(`FAIL ${name} ${detail === undefined ? '' : JSON.stringify(detail)}`);
    process.exit(1);
  }
  console.log(`ok   ${name}`);
}

// One HTTP exchange: the status, the headers and the exact body text.
function exchange(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const lib = target.protocol === 'https:' ? https : http;
    const req = lib.request(target, { method, headers, ca: CA, timeout: 30000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// The replaceable HTTP layer: the interface of the client's own PayRequest (get, post), with
// the answer in its shape ({status, data} or {status, error}); the raw answer is kept for the
// signature check.
class SandboxHttp {
  constructor() { this.last = null; this.sent = 0; }

  toSandbox(url) {
    if (!url.startsWith(REAL + '/')) throw new Error(`refusing a request to ${url}`);
    this.sent += 1;
    return `${API.origin}${url.slice(REAL.length)}`;
  }

  async send(method, url, headers, body) {
    const answer = await exchange(method, this.toSandbox(url), headers, body);
    this.last = answer;
    if (answer.status >= 200 && answer.status < 300) {
      return { status: answer.status, data: answer.text ? JSON.parse(answer.text) : {} };
    }
    return { status: answer.status, error: answer.text };
  }

  get(url, headers) { return this.send('GET', url, headers); }

  // The client signed JSON.stringify(params): send exactly that.
  post(url, params, headers) { return this.send('POST', url, headers, JSON.stringify(params)); }
}

async function admin(method, p, body, want = 200) {
  const answer = await exchange(method, ADMIN + p, { 'Content-Type': 'application/json' },
    body === undefined ? undefined : JSON.stringify(body));
  check(`admin ${method} ${p}: HTTP ${want}`, answer.status === want, answer.text);
  return answer.text ? JSON.parse(answer.text) : {};
}

function merchantFile(name) { return fs.readFileSync(path.join(DATA, 'merchants', MCH_ID, name)); }

function client(privateKey) {
  const pay = new Pay({
    appid: APPID, mchid: MCH_ID,
    publicKey: merchantFile('apiclient_cert.pem'), // the merchant certificate: its serial goes in Authorization
    privateKey: privateKey || merchantFile('apiclient_key.pem'),
    key: APIV3_KEY,
  });
  const layer = new SandboxHttp();
  pay.createHttp(layer);
  return { pay, layer };
}

// Verifies a 2xx answer with the client's own verifySign (which may itself call the layer, to
// fetch /v3/certificates: take the answer from the layer before calling this).
async function verified(name, pay, answer) {
  const { headers, text } = answer;
  check(`${name}: Wechatpay-Signature-Type`, headers['wechatpay-signature-type'] === 'WECHATPAY2-SHA256-RSA2048', headers);
  check(`${name}: Request-ID`, Boolean(headers['request-id']), headers);
  const params = {
    timestamp: headers['wechatpay-timestamp'], nonce: headers['wechatpay-nonce'], body: text,
    serial: headers['wechatpay-serial'], signature: headers['wechatpay-signature'], apiSecret: APIV3_KEY,
  };
  check(`${name}: signature verified by verifySign`, await pay.verifySign(params), headers);
  return params;
}

async function ok(name, pay, layer, call, status = 200) {
  const result = await call;
  check(`${name}: HTTP ${status}`, result.status === status, result);
  const answer = layer.last;
  await verified(name, pay, answer);
  return answer.text ? JSON.parse(answer.text) : null;
}

async function refused(name, call, status, code) {
  const result = await call;
  let body = {};
  try { body = JSON.parse(result.error); } catch (e) { /* checked below */ }
  check(`${name}: HTTP ${status} ${code}`, result.status === status && body.code === code, result);
  check(`${name}: a message`, Boolean(body.message), body);
  return body;
}

async function main() {
  await admin('POST', '/admin/wechat/merchants', {
    mch_id: MCH_ID, appids: [APPID], api_key: 'paysandboxfidelitynode0000000000',
    api_v3_key: APIV3_KEY, v3_identity: 'certificate', company: 'wechatpay-node-v3 fidelity',
  }, 201);
  const view = await admin('GET', `/admin/wechat/merchants/${MCH_ID}/v3`);
  check('admin: merchant in certificate mode', view.identity === 'certificate', view);
  const { pay, layer } = client();
  const amount = (refund) => ({ refund, total: 8800, currency: 'CNY' });

  // H5 prepay, the buyer pays, order query.
  const trade = `node-${RUN}`;
  const h5 = await ok('h5 prepay', pay, layer, pay.transactions_h5({
    description: 'fidelity', out_trade_no: trade, notify_url: 'https://merchant.example/notify',
    amount: { total: 8800 }, scene_info: { payer_client_ip: '127.0.0.1', h5_info: { type: 'Wap' } },
  }));
  check('h5 prepay: an h5_url', typeof h5.h5_url === 'string' && h5.h5_url.startsWith('https://'), h5);
  const downloaded = Object.keys(Pay.certificates || {});
  const files = fs.readdirSync(path.join(DATA, 'merchants', MCH_ID, 'wechatpay_certs'));
  check('verifySign fetched /v3/certificates: one entry per platform certificate file',
    downloaded.length === files.length && files.every((f) => downloaded.some((s) => f.includes(s))), { downloaded, files });
  await admin('POST', `/admin/wechat/orders/${trade}/pay`, { mch_id: MCH_ID, openid: OPENID });
  const order = await ok('order query', pay, layer, pay.query({ out_trade_no: trade }));
  check('order query: SUCCESS, 8800 fen, MWEB', order.trade_state === 'SUCCESS' && order.amount.total === 8800
    && order.trade_type === 'MWEB' && order.mchid === MCH_ID, order);

  // Refund, the same request again, refund query.
  const refundNo = `node-r1-${RUN}`;
  const refund = await ok('refund', pay, layer, pay.refunds({ out_trade_no: trade, out_refund_no: refundNo, amount: amount(1000) }));
  check('refund: PROCESSING, amounts, ids', refund.status === 'PROCESSING' && refund.out_refund_no === refundNo
    && refund.transaction_id === order.transaction_id && refund.amount.refund === 1000 && refund.amount.total === 8800, refund);
  const again = await ok('refund repeated', pay, layer, pay.refunds({ out_trade_no: trade, out_refund_no: refundNo, amount: amount(1000) }));
  check('same out_refund_no: the same refund_id', again.refund_id === refund.refund_id, again);
  const queried = await pay.find_refunds(refundNo);
  check('refund query: HTTP 200, the same refund', queried.status === 200 && queried.data.refund_id === refund.refund_id, queried);
  const signed = await verified('refund query', pay, layer.last);
  check('a tampered body fails verifySign', !(await pay.verifySign({ ...signed, body: signed.body.replace('PROCESSING', 'SUCCESS') })));

  await refused('second refund within a minute',
    pay.refunds({ out_trade_no: trade, out_refund_no: `node-r2-${RUN}`, amount: amount(1000) }), 429, 'FREQUENCY_LIMITED');
  await admin('POST', '/admin/clock/advance', { seconds: 61 });
  const settled = await ok('refund query after a minute', pay, layer, pay.find_refunds(refundNo));
  check('refund settled: SUCCESS with success_time', settled.status === 'SUCCESS' && Boolean(settled.success_time), settled);
  const refunded = await ok('order query after the refund', pay, layer, pay.query({ transaction_id: order.transaction_id }));
  check('order is REFUND', refunded.trade_state === 'REFUND', refunded);

  await refused('refund beyond the refundable amount',
    pay.refunds({ out_trade_no: trade, out_refund_no: `node-r3-${RUN}`, amount: amount(8000) }), 400, 'INVALID_REQUEST');
  await refused('same out_refund_no, another amount',
    pay.refunds({ out_trade_no: trade, out_refund_no: refundNo, amount: amount(999) }), 400, 'INVALID_REQUEST');
  await refused('refund of an unknown order',
    pay.refunds({ out_trade_no: `node-none-${RUN}`, out_refund_no: `node-r4-${RUN}`, amount: { refund: 1, total: 100, currency: 'CNY' } }),
    404, 'RESOURCE_NOT_EXISTS');
  await refused('query of an unknown refund', pay.find_refunds(`node-none-${RUN}`), 404, 'RESOURCE_NOT_EXISTS');

  await admin('PATCH', `/admin/wechat/merchants/${MCH_ID}`, { refundable_balance: 10 });
  await refused('refund beyond the balance',
    pay.refunds({ out_trade_no: trade, out_refund_no: `node-r5-${RUN}`, amount: amount(500) }), 403, 'NOT_ENOUGH');
  await admin('PATCH', `/admin/wechat/merchants/${MCH_ID}`, { refundable_balance: 100000000 });

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forger = client(privateKey.export({ type: 'pkcs8', format: 'pem' })).pay;
  const forged = await refused('request signed with another key',
    forger.refunds({ out_trade_no: trade, out_refund_no: `node-r6-${RUN}`, amount: amount(1) }), 401, 'SIGN_ERROR');
  check('SIGN_ERROR detail echoes the message the server built',
    JSON.stringify(forged.detail || {}).includes('POST\\n/v3/refund/domestic/refunds\\n'), forged);

  // JSAPI prepay (the front end's parameters signed by the client), then close: a signed 204.
  const closing = `node-close-${RUN}`;
  const jsapi = await pay.transactions_jsapi({
    description: 'fidelity', out_trade_no: closing, notify_url: 'https://merchant.example/notify',
    amount: { total: 100 }, payer: { openid: OPENID },
  });
  check('jsapi prepay: HTTP 200 with the front end parameters',
    jsapi.status === 200 && jsapi.data.package.startsWith('prepay_id=wx') && Boolean(jsapi.data.paySign), jsapi);
  await verified('jsapi prepay', pay, layer.last);
  await ok('close', pay, layer, pay.close(closing), 204);
  const closed = await ok('query of the closed order', pay, layer, pay.query({ out_trade_no: closing }));
  check('closed order: CLOSED', closed.trade_state === 'CLOSED', closed);
  check('every request went through the layer', layer.sent > 10, layer.sent);
  console.log('wechatpay-node-v3 fidelity: all checks passed');
}

// notify.js reuses the exchange and the layer.
module.exports = { check, exchange, SandboxHttp };

if (require.main === module) {
  main().catch((e) => { console.log(`FAIL ${e && e.stack ? e.stack : e}`); process.exit(1); });
}

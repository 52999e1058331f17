// Fidelity check: the API v3 notifications the sandbox sends, handled with wechatpay-node-v3
// (klover2, npm) the way its README shows: `verifySign()` on the Wechatpay-* headers and the raw
// body, then `decipher_gcm()` on the resource with the APIv3 key. The handler answers 204 only
// when the signature verified and the resource decrypted, else 401.
//
// The handler is an http server on 127.0.0.1 in this process. On a merchant of its own in
// certificate mode (the only mode the client knows; verifySign downloads /v3/certificates
// through the client's replaceable HTTP layer):
// - TRANSACTION.SUCCESS (an H5 order the buyer pays), REFUND.SUCCESS (a refund settling) and
//   REFUND.CLOSED (a refund forced closed) verify and decrypt to the order and refunds the API
//   answers, and the sandbox records each as delivered with a 204;
// - a signature probe (WECHATPAY/SIGNTEST/) fails verifySign, so the probe's check is `passed`
//   and GET /admin/wechat/v3/probes reports no failed check; a handler that answers 2xx without
//   verifySign is reported as a failed check;
// - a tampered body fails verifySign.
//
// Usage: PAYSANDBOX_DATA_DIR=paysandbox-data PAYSANDBOX_API_URL=https://127.0.0.1:8443 \
//        PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 NODE_PATH=<dir>/node_modules \
//        node fidelity/wechatpay-node-v3/notify.js
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const Pay = require('wechatpay-node-v3');
const { check, exchange, SandboxHttp } = require('./wechatpay_node_v3.js');

const DATA = process.env.PAYSANDBOX_DATA_DIR;
const ADMIN = process.env.PAYSANDBOX_ADMIN_URL.replace(/\/$/, '');
const APPID = 'wx2421b1c4370ec43b';
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
const APIV3_KEY = 'paysandboxfidelitynodenotify0000';
const RUN = crypto.randomBytes(5).toString('hex');
const MCH_ID = '14' + String(parseInt(RUN, 16) % 1e8).padStart(8, '0');
// Real-time bound on waiting for one delivery (the sandbox's own attempt timeout is 5 s).
const WAIT_MS = 15000;

async function admin(method, p, body, want = 200) {
  const answer = await exchange(method, ADMIN + p, { 'Content-Type': 'application/json' },
    body === undefined ? undefined : JSON.stringify(body));
  check(`admin ${method} ${p}: HTTP ${want}`, answer.status === want, answer.text);
  return answer.text ? JSON.parse(answer.text) : {};
}

function merchantFile(name) { return fs.readFileSync(path.join(DATA, 'merchants', MCH_ID, name)); }

// What the careful handler does with one notification: the client's verifySign, then its
// decipher_gcm. Returns the decrypted resource, or why it refused.
async function handle(pay, headers, body) {
  const params = {
    timestamp: headers['wechatpay-timestamp'], nonce: headers['wechatpay-nonce'], body,
    serial: headers['wechatpay-serial'], signature: headers['wechatpay-signature'], apiSecret: APIV3_KEY,
  };
  let verified;
  try {
    verified = await pay.verifySign(params);
  } catch (e) {
    return { refused: `verifySign threw: ${e.message}` };
  }
  if (!verified) return { refused: 'verifySign: false' };
  const envelope = JSON.parse(body);
  const { ciphertext, associated_data: aad, nonce } = envelope.resource;
  const resource = pay.decipher_gcm(ciphertext, aad, nonce, APIV3_KEY);
  if (typeof resource !== 'object') return { refused: 'decipher_gcm: not JSON' };
  return { envelope, resource };
}

// The receiver: every POST is answered by the handler for its path and queued for the script.
function receiver(handlers) {
  const arrived = [];
  const waiting = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const handler = handlers[req.url];
      const outcome = handler ? await handler(req.headers, body) : { refused: 'unknown path' };
      const status = outcome.refused ? 401 : 204;
      const reply = outcome.refused ? JSON.stringify({ code: 'FAIL', message: outcome.refused }) : '';
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(reply) });
      res.end(reply);
      const note = { path: req.url, headers: req.headers, body, status, ...outcome };
      if (waiting.length) waiting.shift()(note); else arrived.push(note);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const base = `http://127.0.0.1:${server.address().port}`;
    resolve({
      url: (p) => base + p,
      next: () => new Promise((ok, fail) => {
        if (arrived.length) { ok(arrived.shift()); return; }
        const timer = setTimeout(() => fail(new Error('no notification arrived in time')), WAIT_MS);
        waiting.push((note) => { clearTimeout(timer); ok(note); });
      }),
      pending: () => arrived.length,
      close: () => server.close(),
    });
  }));
}

async function delivered(query, event) {
  // The handler has answered, but the sandbox records the attempt once it has read the
  // answer: a flush waits for the attempts in flight.
  await admin('POST', '/admin/notifications/flush');
  const listed = await admin('GET', `/admin/notifications?${query}`);
  check(`${event}: one notification recorded`, listed.length === 1, listed);
  const n = listed[0];
  check(`${event}: wechat_v3, delivered, first attempt 204`, n.platform === 'wechat_v3' && n.event === event
    && n.status === 'delivered' && n.attempts[0].http_status === 204 && n.attempts[0].success, n);
}

async function main() {
  await admin('POST', '/admin/wechat/merchants', {
    mch_id: MCH_ID, appids: [APPID], api_key: 'paysandboxfidelitynodenotify0000',
    api_v3_key: APIV3_KEY, v3_identity: 'certificate', company: 'wechatpay-node-v3 notify fidelity',
  }, 201);
  await admin('GET', `/admin/wechat/merchants/${MCH_ID}/v3`); // makes its v3 files
  const pay = new Pay({
    appid: APPID, mchid: MCH_ID, publicKey: merchantFile('apiclient_cert.pem'),
    privateKey: merchantFile('apiclient_key.pem'), key: APIV3_KEY,
  });
  pay.createHttp(new SandboxHttp());
  const inbox = await receiver({
    '/notify': (headers, body) => handle(pay, headers, body),
    // A handler that never checks the signature: what the probes exist to catch.
    '/careless': async () => ({}),
  });
  const NOTIFY = inbox.url('/notify');
  const CARELESS = inbox.url('/careless');

  // Probes that went before a real notification (serve --v3-probe-percent) are refused too.
  let unannounced = 0;
  async function received(event) {
    let note = await inbox.next();
    while (note.headers['wechatpay-signature'].startsWith('WECHATPAY/SIGNTEST/')) {
      check(`${event}: a probe before it, refused by verifySign`, note.status === 401, note.refused);
      unannounced += 1;
      note = await inbox.next();
    }
    check(`${event}: verifySign and decipher_gcm accepted it (answered 204)`,
      note.path === '/notify' && note.status === 204, { status: note.status, refused: note.refused, headers: note.headers });
    check(`${event}: the envelope`, note.envelope.event_type === event && note.envelope.resource_type === 'encrypt-resource'
      && note.envelope.id.startsWith('EV-'), note.envelope);
    return note;
  }

  // TRANSACTION.SUCCESS: an H5 order the buyer pays.
  const trade = `noden-${RUN}`;
  const h5 = await pay.transactions_h5({
    description: 'fidelity', out_trade_no: trade, notify_url: NOTIFY, amount: { total: 5500 },
    scene_info: { payer_client_ip: '127.0.0.1', h5_info: { type: 'Wap' } },
  });
  check('h5 prepay with the receiver as notify_url: HTTP 200', h5.status === 200, h5);
  await admin('POST', `/admin/wechat/orders/${trade}/pay`, { mch_id: MCH_ID, openid: OPENID });
  const paid = await received('TRANSACTION.SUCCESS');
  const order = (await pay.query({ out_trade_no: trade })).data;
  check('TRANSACTION.SUCCESS: the decrypted order is the one the order query answers',
    paid.resource.out_trade_no === trade && paid.resource.trade_state === 'SUCCESS'
    && paid.resource.transaction_id === order.transaction_id && paid.resource.amount.total === 5500
    && paid.resource.mchid === MCH_ID && paid.resource.payer.openid === OPENID, { resource: paid.resource, order });
  const files = fs.readdirSync(path.join(DATA, 'merchants', MCH_ID, 'wechatpay_certs'));
  check('TRANSACTION.SUCCESS: signed by a platform certificate (certificate mode)',
    files.some((f) => f.includes(paid.headers['wechatpay-serial'])), { serial: paid.headers['wechatpay-serial'], files });
  await delivered(`platform=wechat_v3&out_trade_no=${trade}&kind=payment`, 'TRANSACTION.SUCCESS');
  const tampered = paid.body.replace('"TRANSACTION.SUCCESS"', '"REFUND.SUCCESS"');
  check('a tampered body fails verifySign', tampered !== paid.body && (await handle(pay, paid.headers, tampered)).refused);

  // REFUND.SUCCESS: a refund settles on the sandbox clock.
  const refundNo = `noden-r1-${RUN}`;
  const refund = await pay.refunds({
    out_trade_no: trade, out_refund_no: refundNo, notify_url: NOTIFY, amount: { refund: 1500, total: 5500, currency: 'CNY' },
  });
  check('refund with the receiver as notify_url: HTTP 200 PROCESSING', refund.status === 200 && refund.data.status === 'PROCESSING', refund);
  await admin('POST', '/admin/clock/advance', { seconds: 61 });
  const settled = await received('REFUND.SUCCESS');
  check('REFUND.SUCCESS: the decrypted refund', settled.resource.refund_status === 'SUCCESS'
    && settled.resource.refund_id === refund.data.refund_id && settled.resource.out_refund_no === refundNo
    && settled.resource.amount.refund === 1500 && settled.resource.amount.total === 5500
    && Boolean(settled.resource.success_time), settled.resource);
  await delivered(`platform=wechat_v3&refund_no=${refundNo}`, 'REFUND.SUCCESS');

  // REFUND.CLOSED: a refund forced closed through the admin API.
  const closedNo = `noden-r2-${RUN}`;
  const closing = await pay.refunds({
    out_trade_no: trade, out_refund_no: closedNo, notify_url: NOTIFY, amount: { refund: 500, total: 5500, currency: 'CNY' },
  });
  check('refund to be closed: HTTP 200', closing.status === 200, closing);
  await admin('POST', `/admin/wechat/refunds/${closing.data.refund_id}/status`, { status: 'REFUNDCLOSE' });
  const closed = await received('REFUND.CLOSED');
  check('REFUND.CLOSED: the decrypted refund', closed.resource.refund_status === 'CLOSED'
    && closed.resource.out_refund_no === closedNo && !closed.resource.success_time, closed.resource);
  await delivered(`platform=wechat_v3&refund_no=${closedNo}`, 'REFUND.CLOSED');
  check('nothing else arrived', inbox.pending() === 0);

  // Signature probes: the careful handler refuses one, the careless one accepts it.
  let probe = await admin('POST', `/admin/wechat/merchants/${MCH_ID}/v3/probe`, { url: NOTIFY });
  let note = await inbox.next();
  check('probe: signed WECHATPAY/SIGNTEST/', note.headers['wechatpay-signature'].startsWith('WECHATPAY/SIGNTEST/'), note.headers);
  check('probe: verifySign refuses it, the handler answers 401', note.status === 401 && note.refused === 'verifySign: false', note.refused);
  check('probe: the sandbox records the refusal as a passed check', probe.check === 'passed' && probe.accepted === false
    && probe.http_status === 401, probe);
  const none = await admin('GET', `/admin/wechat/v3/probes?merchant=${MCH_ID}&check=failed`);
  check('no failed check reported for the careful handler', none.length === 0, none);
  probe = await admin('POST', `/admin/wechat/merchants/${MCH_ID}/v3/probe`, { url: CARELESS });
  note = await inbox.next();
  check('a handler that accepts the probe: a failed check', note.status === 204 && probe.check === 'failed'
    && probe.accepted === true, probe);
  const failed = await admin('GET', `/admin/wechat/v3/probes?merchant=${MCH_ID}&check=failed`);
  check('the failed check is reported, naming the careless handler', failed.length === 1 && failed[0].url === CARELESS, failed);
  inbox.close();
  if (unannounced) console.log(`     ${unannounced} unannounced probe(s) refused (serve --v3-probe-percent)`);
  console.log('wechatpay-node-v3 notification fidelity: all checks passed');
}

main().catch((e) => { console.log(`FAIL ${e && e.stack ? e.stack : e}`); process.exit(1); });

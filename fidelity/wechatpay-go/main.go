// Fidelity check: the official WeChat Pay API v3 Go SDK (wechatpay-go), unchanged, against a
// running paysandbox. The SDK has no base-URL setting (its services build
// "https://api.mch.weixin.qq.com" + path), so the one thing changed is its http.Client: a
// Transport that sends that host to the sandbox and trusts the sandbox CA. The SDK signs
// request.URL.RequestURI(), which the rewrite leaves alone.
//
// It runs in one of the SDK's two platform-identity modes, on a merchant of its own created
// through the admin API in the matching mode:
//
//	public-key   WithWechatPayPublicKeyAuthCipher (PUB_KEY_ID_… and pub_key.pem)
//	certificate  the platform certificates downloaded from /v3/certificates by the SDK's own
//	             downloader, checked against the files in the data directory, then used to
//	             verify every answer
//
// Flow: Native and JSAPI prepay, the buyer pays (admin API), order query, refund, idempotent
// repeat, refund query (PROCESSING, then SUCCESS once the sandbox clock has moved), close
// (a signed 204), a refund answered SYSTEM_ERROR after it happened (an injected fault) and
// its retry, and each refusal: SIGN_ERROR, NOT_ENOUGH, RESOURCE_NOT_EXISTS, INVALID_REQUEST,
// FREQUENCY_LIMITED. The SDK verifies every 2xx answer itself; a client
// holding the wrong platform key must refuse one. Exit status 1 on the first mismatch.
//
// Usage (from fidelity/wechatpay-go):
//
//	PAYSANDBOX_DATA_DIR=../../paysandbox-data PAYSANDBOX_API_URL=https://127.0.0.1:8443 \
//	PAYSANDBOX_ADMIN_URL=http://127.0.0.1:8444 GOFLAGS=-mod=mod go run . public-key
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

const (
	realHost = "api.mch.weixin.qq.com"
	appID    = "wx2421b1c4370ec43b"
	apiV3Key = "paysandboxfidelitygo0000000000v3"
	openID   = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

var (
	dataDir  = mustEnv("PAYSANDBOX_DATA_DIR")
	apiURL   = mustParse(mustEnv("PAYSANDBOX_API_URL"))
	adminURL = strings.TrimRight(mustEnv("PAYSANDBOX_ADMIN_URL"), "/")
	ctx      = context.Background()
	// Requests the Transport sent to the sandbox: proves the SDK went through it.
	forwarded int
	// A run id, so two runs against one sandbox never share numbers.
	run = fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000_000)
)

func mustEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fail("%s is not set", name)
	}
	return v
}

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		fail("bad URL %q: %v", raw, err)
	}
	return u
}

func fail(format string, args ...any) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func check(name string, ok bool, detail ...any) {
	if !ok {
		fail("%s %v", name, detail)
	}
	fmt.Println("ok   " + name)
}

// toSandbox sends requests for the real API host to the sandbox; anything else is refused,
// so a request the SDK sends elsewhere is a failure, not a call to the real platform.
type toSandbox struct{ inner http.RoundTripper }

func (t toSandbox) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != realHost {
		return nil, fmt.Errorf("refusing a request to %s", r.URL.Host)
	}
	out := r.Clone(r.Context())
	out.URL.Scheme = apiURL.Scheme
	out.URL.Host = apiURL.Host
	out.Host = apiURL.Host
	forwarded++
	return t.inner.RoundTrip(out)
}

func sandboxHTTPClient() *http.Client {
	pem, err := os.ReadFile(filepath.Join(dataDir, "ca.pem"))
	if err != nil {
		fail("read ca.pem: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		fail("ca.pem holds no certificate")
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	return &http.Client{Transport: toSandbox{transport}, Timeout: 30 * time.Second}
}

// admin calls the sandbox's admin API and decodes its JSON answer.
func admin(method, path string, body any) (int, map[string]any) {
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			fail("encode admin body: %v", err)
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, adminURL+path, reader)
	if err != nil {
		fail("admin request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		fail("admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func mustAdmin(method, path string, body any, want int) map[string]any {
	status, out := admin(method, path, body)
	if status != want {
		fail("admin %s %s: HTTP %d, want %d: %v", method, path, status, want, out)
	}
	return out
}

// apiError asserts that err is the SDK's *core.APIError with this status and code.
func apiError(name string, err error, status int, code string) *core.APIError {
	var e *core.APIError
	if !errors.As(err, &e) {
		fail("%s: want %s, got %v", name, code, err)
	}
	check(fmt.Sprintf("%s: HTTP %d %s", name, status, code), e.StatusCode == status && e.Code == code,
		e.StatusCode, e.Code, e.Message)
	check(name+": a message", e.Message != "")
	return e
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func num(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

type merchant struct {
	mchID      string
	serialNo   string
	privateKey *rsa.PrivateKey
	dir        string
}

// newMerchant creates a merchant in the given identity mode and reads its files back.
func newMerchant(mode string) merchant {
	identity := map[string]string{"public-key": "public_key", "certificate": "certificate"}[mode]
	m := merchant{mchID: "19" + run[len(run)-8:]}
	if mode == "certificate" {
		m.mchID = "18" + run[len(run)-8:]
	}
	mustAdmin("POST", "/admin/wechat/merchants", map[string]any{
		"mch_id": m.mchID, "appids": []string{appID}, "api_key": "paysandboxfidelitygo000000000000",
		"api_v3_key": apiV3Key, "v3_identity": identity, "company": "wechatpay-go fidelity",
	}, 201)
	// Reading the merchant's v3 view makes (or reads) its v3 files.
	view := mustAdmin("GET", "/admin/wechat/merchants/"+m.mchID+"/v3", nil, 200)
	check("admin: v3 identity is "+identity, view["identity"] == identity, view)
	m.dir = filepath.Join(dataDir, "merchants", m.mchID)
	cert, err := utils.LoadCertificateWithPath(filepath.Join(m.dir, "apiclient_cert.pem"))
	if err != nil {
		fail("merchant certificate: %v", err)
	}
	m.serialNo = utils.GetCertificateSerialNumber(*cert)
	m.privateKey, err = utils.LoadPrivateKeyWithPath(filepath.Join(m.dir, "apiclient_key.pem"))
	if err != nil {
		fail("merchant key: %v", err)
	}
	return m
}

// verifierOption gives the SDK its platform identity in the given mode.
func verifierOption(mode string, m merchant) (core.ClientOption, string) {
	if mode == "public-key" {
		idRaw, err := os.ReadFile(filepath.Join(m.dir, "pub_key_id.txt"))
		if err != nil {
			fail("pub_key_id.txt: %v", err)
		}
		pubKeyID := strings.TrimSpace(string(idRaw))
		check("public key id is PUB_KEY_ID_…", strings.HasPrefix(pubKeyID, "PUB_KEY_ID_"), pubKeyID)
		pub, err := utils.LoadPublicKeyWithPath(filepath.Join(m.dir, "pub_key.pem"))
		if err != nil {
			fail("pub_key.pem: %v", err)
		}
		return option.WithWechatPayPublicKeyAuthCipher(m.mchID, m.serialNo, m.privateKey, pubKeyID, pub), pubKeyID
	}
	// Certificate mode: the SDK's own downloader fetches /v3/certificates through the sandbox
	// transport and decrypts each certificate with the APIv3 key.
	bootstrap, err := core.NewClient(ctx,
		option.WithMerchantCredential(m.mchID, m.serialNo, m.privateKey),
		option.WithoutValidator(), option.WithHTTPClient(sandboxHTTPClient()))
	if err != nil {
		fail("bootstrap client: %v", err)
	}
	certs, err := downloader.NewCertificateDownloaderWithClient(ctx, bootstrap, apiV3Key)
	if err != nil {
		fail("download /v3/certificates: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(m.dir, "wechatpay_certs", "*.pem"))
	check("data dir holds platform certificates", len(files) > 0, files)
	downloaded := certs.ExportAll(ctx)
	check("/v3/certificates lists every file of wechatpay_certs/", len(downloaded) == len(files), len(downloaded), files)
	for _, file := range files {
		cert, err := utils.LoadCertificateWithPath(file)
		if err != nil {
			fail("%s: %v", file, err)
		}
		serial := utils.GetCertificateSerialNumber(*cert)
		got, ok := certs.Get(ctx, serial)
		check("downloaded certificate "+serial+" equals its file", ok && got.Equal(cert))
	}
	newest := certs.GetNewestSerial(ctx)
	return option.WithVerifier(verifiers.NewSHA256WithRSAVerifier(certs)), newest
}

func main() {
	if len(os.Args) != 2 || (os.Args[1] != "public-key" && os.Args[1] != "certificate") {
		fail("usage: go run . public-key|certificate")
	}
	mode := os.Args[1]
	m := newMerchant(mode)
	verifier, platformSerial := verifierOption(mode, m)
	client, err := core.NewClient(ctx,
		option.WithMerchantCredential(m.mchID, m.serialNo, m.privateKey),
		verifier, option.WithHTTPClient(sandboxHTTPClient()))
	if err != nil {
		fail("client: %v", err)
	}
	prefix := mode + ": "

	// Prepay (Native), the buyer pays, order query.
	nativeAPI := native.NativeApiService{Client: client}
	outTradeNo := "go-" + mode[:4] + "-" + run
	notifyURL := "https://merchant.example/notify"
	pre, result, err := nativeAPI.Prepay(ctx, native.PrepayRequest{
		Appid: core.String(appID), Mchid: core.String(m.mchID), Description: core.String("fidelity"),
		OutTradeNo: core.String(outTradeNo), NotifyUrl: core.String(notifyURL),
		Amount: &native.Amount{Total: core.Int64(8800), Currency: core.String("CNY")},
	})
	if err != nil {
		fail("%snative prepay: %v", prefix, err)
	}
	check(prefix+"native prepay: a code_url", strings.HasPrefix(str(pre.CodeUrl), "weixin://"), str(pre.CodeUrl))
	check(prefix+"answer signed by the platform identity", result.Response.Header.Get("Wechatpay-Serial") == platformSerial,
		result.Response.Header.Get("Wechatpay-Serial"), platformSerial)
	check(prefix+"answer carries Request-ID", result.Response.Header.Get("Request-ID") != "")
	mustAdmin("POST", "/admin/wechat/orders/"+outTradeNo+"/pay", map[string]any{"mch_id": m.mchID, "openid": openID}, 200)
	order, _, err := nativeAPI.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(outTradeNo), Mchid: core.String(m.mchID)})
	if err != nil {
		fail("%sorder query: %v", prefix, err)
	}
	check(prefix+"order query: SUCCESS, 8800 fen, NATIVE", str(order.TradeState) == "SUCCESS" &&
		order.Amount != nil && num(order.Amount.Total) == 8800 && str(order.TradeType) == "NATIVE", order)
	transactionID := str(order.TransactionId)
	byID, _, err := nativeAPI.QueryOrderById(ctx, native.QueryOrderByIdRequest{
		TransactionId: core.String(transactionID), Mchid: core.String(m.mchID)})
	check(prefix+"order query by transaction_id finds the same order", err == nil && str(byID.OutTradeNo) == outTradeNo, err)

	// Refund, the same request again, refund query.
	refunds := refunddomestic.RefundsApiService{Client: client}
	refundReq := func(outRefundNo string, refund, total int64, outTradeNo string) refunddomestic.CreateRequest {
		return refunddomestic.CreateRequest{
			OutTradeNo: core.String(outTradeNo), OutRefundNo: core.String(outRefundNo), Reason: core.String("fidelity"),
			Amount: &refunddomestic.AmountReq{Refund: core.Int64(refund), Total: core.Int64(total), Currency: core.String("CNY")},
		}
	}
	outRefundNo := "go-r1-" + run
	refund, _, err := refunds.Create(ctx, refundReq(outRefundNo, 1000, 8800, outTradeNo))
	if err != nil {
		fail("%srefund: %v", prefix, err)
	}
	check(prefix+"refund accepted: PROCESSING", str((*string)(refund.Status)) == "PROCESSING" && str(refund.OutRefundNo) == outRefundNo &&
		str(refund.TransactionId) == transactionID && refund.Amount != nil && num(refund.Amount.Refund) == 1000 &&
		num(refund.Amount.Total) == 8800 && str(refund.Amount.Currency) == "CNY", refund)
	check(prefix+"refund: create_time set, success_time not", refund.CreateTime != nil && refund.SuccessTime == nil)
	again, _, err := refunds.Create(ctx, refundReq(outRefundNo, 1000, 8800, outTradeNo))
	check(prefix+"same out_refund_no: the same refund", err == nil && str(again.RefundId) == str(refund.RefundId), err)
	queried, _, err := refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	check(prefix+"refund query: the same refund", err == nil && str(queried.RefundId) == str(refund.RefundId), err)

	// A refund that happened while the client saw SYSTEM_ERROR (a fault after the ledger acted):
	// the retry with the same out_refund_no finds it, and the query agrees.
	lostNo := "go-lost-" + run
	lostTrade := "go-lost-" + mode[:4] + "-" + run
	if _, _, err := nativeAPI.Prepay(ctx, native.PrepayRequest{
		Appid: core.String(appID), Mchid: core.String(m.mchID), Description: core.String("fidelity"),
		OutTradeNo: core.String(lostTrade), NotifyUrl: core.String(notifyURL),
		Amount: &native.Amount{Total: core.Int64(300)},
	}); err != nil {
		fail("%snative prepay: %v", prefix, err)
	}
	mustAdmin("POST", "/admin/wechat/orders/"+lostTrade+"/pay", map[string]any{"mch_id": m.mchID}, 200)
	mustAdmin("POST", "/admin/faults", map[string]any{
		"endpoint": "wechat.v3.refund", "err_code": "SYSTEM_ERROR", "after_apply": true}, 201)
	_, _, err = refunds.Create(ctx, refundReq(lostNo, 300, 300, lostTrade))
	apiError(prefix+"refund answered SYSTEM_ERROR after it happened", err, 500, "SYSTEM_ERROR")
	retried, _, err := refunds.Create(ctx, refundReq(lostNo, 300, 300, lostTrade))
	check(prefix+"the retry with the same out_refund_no finds the refund", err == nil &&
		str(retried.OutRefundNo) == lostNo && num(retried.Amount.Refund) == 300, err)
	lost, _, err := refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(lostNo)})
	check(prefix+"refund query: the one refund", err == nil && str(lost.RefundId) == str(retried.RefundId), err)

	// FREQUENCY_LIMITED: a second refund of the order within a minute.
	_, _, err = refunds.Create(ctx, refundReq("go-r2-"+run, 1000, 8800, outTradeNo))
	apiError(prefix+"second refund within a minute", err, 429, "FREQUENCY_LIMITED")

	// The sandbox clock moves; the refund settles.
	mustAdmin("POST", "/admin/clock/advance", map[string]any{"seconds": 61}, 200)
	queried, _, err = refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	check(prefix+"refund query after a minute: SUCCESS with success_time", err == nil &&
		str((*string)(queried.Status)) == "SUCCESS" && queried.SuccessTime != nil, err, queried)
	order, _, err = nativeAPI.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(outTradeNo), Mchid: core.String(m.mchID)})
	check(prefix+"order query: REFUND", err == nil && str(order.TradeState) == "REFUND", err, order)

	// INVALID_REQUEST: more than is left to refund; the same out_refund_no with another amount.
	_, _, err = refunds.Create(ctx, refundReq("go-r3-"+run, 8000, 8800, outTradeNo))
	apiError(prefix+"refund beyond the refundable amount", err, 400, "INVALID_REQUEST")
	_, _, err = refunds.Create(ctx, refundReq(outRefundNo, 999, 8800, outTradeNo))
	apiError(prefix+"same out_refund_no, other amount", err, 400, "INVALID_REQUEST")

	// RESOURCE_NOT_EXISTS: an unknown order, an unknown refund.
	_, _, err = refunds.Create(ctx, refundReq("go-r4-"+run, 1, 100, "go-no-such-order-"+run))
	apiError(prefix+"refund of an unknown order", err, 404, "RESOURCE_NOT_EXISTS")
	_, _, err = refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String("go-no-such-refund-" + run)})
	apiError(prefix+"query of an unknown refund", err, 404, "RESOURCE_NOT_EXISTS")

	// NOT_ENOUGH: the merchant's refundable balance is below the refund.
	mustAdmin("PATCH", "/admin/wechat/merchants/"+m.mchID, map[string]any{"refundable_balance": 10}, 200)
	_, _, err = refunds.Create(ctx, refundReq("go-r5-"+run, 500, 8800, outTradeNo))
	apiError(prefix+"refund beyond the balance", err, 403, "NOT_ENOUGH")
	mustAdmin("PATCH", "/admin/wechat/merchants/"+m.mchID, map[string]any{"refundable_balance": 100000000}, 200)

	// SIGN_ERROR: the same merchant and serial, signed with another key.
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fail("generate key: %v", err)
	}
	// The credential comes after the verifier: the public-key option sets a signer too.
	forger, err := core.NewClient(ctx, verifier, option.WithMerchantCredential(m.mchID, m.serialNo, otherKey),
		option.WithHTTPClient(sandboxHTTPClient()))
	if err != nil {
		fail("client: %v", err)
	}
	forged := refunddomestic.RefundsApiService{Client: forger}
	_, _, err = forged.Create(ctx, refundReq("go-r6-"+run, 1, 8800, outTradeNo))
	e := apiError(prefix+"request signed with another key", err, 401, "SIGN_ERROR")
	detail, _ := json.Marshal(e.Detail)
	check(prefix+"SIGN_ERROR detail echoes the message the server built",
		strings.Contains(string(detail), `POST\n/v3/refund/domestic/refunds\n`), string(detail))

	// The SDK verifies answers: with a wrong platform key it refuses a 2xx answer.
	wrongKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fail("generate key: %v", err)
	}
	suspicious, err := core.NewClient(ctx, option.WithMerchantCredential(m.mchID, m.serialNo, m.privateKey),
		option.WithVerifier(verifiers.NewSHA256WithRSAPubkeyVerifier(platformSerial, wrongKey.PublicKey)),
		option.WithHTTPClient(sandboxHTTPClient()))
	if err != nil {
		fail("client: %v", err)
	}
	_, result, err = (&refunddomestic.RefundsApiService{Client: suspicious}).QueryByOutRefundNo(ctx,
		refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	var notAPI *core.APIError
	check(prefix+"a client with the wrong platform key refuses the 200 answer",
		err != nil && !errors.As(err, &notAPI) && result != nil && result.Response.StatusCode == 200, err)

	// JSAPI prepay with the front end's signing parameters, then close: a signed 204.
	jsapiAPI := jsapi.JsapiApiService{Client: client}
	closeNo := "go-close-" + mode[:4] + "-" + run
	pay, _, err := jsapiAPI.PrepayWithRequestPayment(ctx, jsapi.PrepayRequest{
		Appid: core.String(appID), Mchid: core.String(m.mchID), Description: core.String("fidelity"),
		OutTradeNo: core.String(closeNo), NotifyUrl: core.String(notifyURL),
		Amount: &jsapi.Amount{Total: core.Int64(100)}, Payer: &jsapi.Payer{Openid: core.String(openID)},
	})
	if err != nil {
		fail("%sjsapi prepay: %v", prefix, err)
	}
	check(prefix+"jsapi prepay: package prepay_id=…, signed for the front end",
		str(pay.Package) == "prepay_id="+str(pay.PrepayId) && str(pay.PaySign) != "" && str(pay.SignType) == "RSA", pay)
	result, err = jsapiAPI.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String(closeNo), Mchid: core.String(m.mchID)})
	check(prefix+"close: 204, verified", err == nil && result.Response.StatusCode == 204, err)
	closed, _, err := jsapiAPI.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(closeNo), Mchid: core.String(m.mchID)})
	check(prefix+"closed order: CLOSED", err == nil && str(closed.TradeState) == "CLOSED", err)

	check(prefix+"every request went through the sandbox transport", forwarded > 10, forwarded)
	fmt.Printf("wechatpay-go fidelity (%s): all checks passed\n", mode)
}

// Fidelity check: WxJava (com.github.binarywang:weixin-java-pay) API v3, unchanged, against a
// running paysandbox reached as api.mch.weixin.qq.com. WxJava's v3 HTTP client signs a request
// only when its host ends with ".mch.weixin.qq.com" (SignatureExec), so a payBaseUrl of
// 127.0.0.1 would send unsigned requests. run.sh gives the JVM a hosts file naming 127.0.0.1
// api.mch.weixin.qq.com and a trust store holding the sandbox CA; the sandbox's server
// certificate carries that name (run.sh explains how).
//
// Public-key mode (publicKeyId + publicKeyPath), on a merchant of its own: Native prepay, the
// buyer pays (admin API), order query, refund, idempotent repeat, refund query, close (a
// signed 204), and each refusal. WxJava verifies 2xx answers (WxPayValidator); a client with
// the wrong public key must refuse one.
//
// Usage: fidelity/wxjava/run.sh (it compiles and runs this file).

import com.github.binarywang.wxpay.bean.request.WxPayRefundV3Request;
import com.github.binarywang.wxpay.bean.request.WxPayUnifiedOrderV3Request;
import com.github.binarywang.wxpay.bean.result.WxPayOrderQueryV3Result;
import com.github.binarywang.wxpay.bean.result.WxPayRefundQueryV3Result;
import com.github.binarywang.wxpay.bean.result.WxPayRefundV3Result;
import com.github.binarywang.wxpay.bean.result.WxPayUnifiedOrderV3Result;
import com.github.binarywang.wxpay.bean.result.enums.TradeTypeEnum;
import com.github.binarywang.wxpay.config.WxPayConfig;
import com.github.binarywang.wxpay.exception.WxPayException;
import com.github.binarywang.wxpay.service.WxPayService;
import com.github.binarywang.wxpay.service.impl.WxPayServiceImpl;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.UUID;

public class WxJavaFlow {
  static final String DATA = System.getenv("PAYSANDBOX_DATA_DIR");
  static final String BASE = System.getenv("WXJAVA_PAY_BASE_URL"); // https://api.mch.weixin.qq.com:PORT
  static final String ADMIN = System.getenv("PAYSANDBOX_ADMIN_URL").replaceAll("/$", "");
  static final String APPID = "wx2421b1c4370ec43b";
  static final String APIV3_KEY = "paysandboxfidelitywxjava00000000";
  static final String RUN = UUID.randomUUID().toString().replace("-", "").substring(0, 10);
  static final String MCH_ID = "15" + String.format("%08d", Long.parseLong(RUN, 16) % 100_000_000L);
  static final HttpClient ADMIN_HTTP = HttpClient.newHttpClient();

  static void check(String name, boolean ok, Object detail) {
    if (!ok) {
      System.out.println("FAIL " + name + " " + detail);
      System.exit(1);
    }
    System.out.println("ok   " + name);
  }

  static String admin(String method, String path, String json, int want) throws Exception {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(ADMIN + path)).header("Content-Type", "application/json");
    req.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
    HttpResponse<String> answer = ADMIN_HTTP.send(req.build(), HttpResponse.BodyHandlers.ofString());
    check("admin " + method + " " + path + ": HTTP " + want, answer.statusCode() == want, answer.body());
    return answer.body();
  }

  static Path file(String name) {
    return Path.of(DATA, "merchants", MCH_ID, name);
  }

  static WxPayService service(byte[] privateKeyPem, String publicKeyPath) throws Exception {
    WxPayConfig config = new WxPayConfig();
    config.setAppId(APPID);
    config.setMchId(MCH_ID);
    config.setApiV3Key(APIV3_KEY);
    config.setPayBaseUrl(BASE);
    config.setNotifyUrl("https://merchant.example/notify");
    config.setPrivateKeyContent(privateKeyPem);
    config.setPrivateCertPath(file("apiclient_cert.pem").toString());
    config.setPublicKeyId(Files.readString(file("pub_key_id.txt")).trim());
    config.setPublicKeyPath(publicKeyPath);
    WxPayService service = new WxPayServiceImpl();
    service.setConfig(config);
    return service;
  }

  static WxPayException refused(String name, Runnable0 call, String code) {
    try {
      call.run();
    } catch (WxPayException e) {
      check(name + ": " + code, code.equals(e.getErrCode()), e.getErrCode() + " " + e.getErrCodeDes());
      return e;
    } catch (Exception e) {
      check(name + ": " + code, false, e);
    }
    check(name + ": " + code, false, "no error");
    return null;
  }

  interface Runnable0 {
    void run() throws Exception;
  }

  static WxPayRefundV3Request refund(String outTradeNo, String outRefundNo, int refund, int total) {
    WxPayRefundV3Request request = new WxPayRefundV3Request();
    request.setOutTradeNo(outTradeNo);
    request.setOutRefundNo(outRefundNo);
    WxPayRefundV3Request.Amount amount = new WxPayRefundV3Request.Amount();
    amount.setRefund(refund);
    amount.setTotal(total);
    amount.setCurrency("CNY");
    request.setAmount(amount);
    return request;
  }

  static WxPayUnifiedOrderV3Request order(String outTradeNo, int total) {
    WxPayUnifiedOrderV3Request request = new WxPayUnifiedOrderV3Request();
    request.setOutTradeNo(outTradeNo);
    request.setDescription("fidelity");
    request.setAmount(new WxPayUnifiedOrderV3Request.Amount().setTotal(total));
    return request;
  }

  static byte[] newPrivateKeyPem() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    String body = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(generator.generateKeyPair().getPrivate().getEncoded());
    return ("-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n").getBytes();
  }

  static Path newPublicKeyPem() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    String body = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(generator.generateKeyPair().getPublic().getEncoded());
    Path path = Files.createTempFile("wrong-pub-key", ".pem");
    Files.writeString(path, "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----\n");
    return path;
  }

  public static void main(String[] args) throws Exception {
    admin("POST", "/admin/wechat/merchants", "{\"mch_id\":\"" + MCH_ID + "\",\"appids\":[\"" + APPID
        + "\"],\"api_key\":\"paysandboxfidelitywxjava00000000\",\"api_v3_key\":\"" + APIV3_KEY
        + "\",\"v3_identity\":\"public_key\",\"company\":\"WxJava fidelity\"}", 201);
    String view = admin("GET", "/admin/wechat/merchants/" + MCH_ID + "/v3", null, 200);
    check("admin: merchant in public-key mode", view.contains("\"public_key\""), view);
    byte[] key = Files.readAllBytes(file("apiclient_key.pem"));
    WxPayService pay = service(key, file("pub_key.pem").toString());

    String trade = "wxjava-" + RUN;
    WxPayUnifiedOrderV3Result prepay = pay.unifiedOrderV3(TradeTypeEnum.NATIVE, order(trade, 8800));
    check("native prepay: a code_url", prepay.getCodeUrl() != null && prepay.getCodeUrl().startsWith("weixin://"), prepay);
    admin("POST", "/admin/wechat/orders/" + trade + "/pay", "{\"mch_id\":\"" + MCH_ID + "\"}", 200);
    WxPayOrderQueryV3Result paid = pay.queryOrderV3(null, trade);
    check("order query: SUCCESS, NATIVE", "SUCCESS".equals(paid.getTradeState()) && "NATIVE".equals(paid.getTradeType()), paid);

    String refundNo = "wxjava-r1-" + RUN;
    WxPayRefundV3Result refund = pay.refundV3(refund(trade, refundNo, 1000, 8800));
    check("refund: PROCESSING", "PROCESSING".equals(refund.getStatus()) && refundNo.equals(refund.getOutRefundNo()), refund);
    WxPayRefundV3Result again = pay.refundV3(refund(trade, refundNo, 1000, 8800));
    check("same out_refund_no: the same refund_id", refund.getRefundId().equals(again.getRefundId()), again);
    WxPayRefundQueryV3Result queried = pay.refundQueryV3(refundNo);
    check("refund query: the same refund", refund.getRefundId().equals(queried.getRefundId()), queried);

    refused("second refund within a minute", () -> pay.refundV3(refund(trade, "wxjava-r2-" + RUN, 1000, 8800)), "FREQUENCY_LIMITED");
    admin("POST", "/admin/clock/advance", "{\"seconds\":61}", 200);
    queried = pay.refundQueryV3(refundNo);
    check("refund settled: SUCCESS", "SUCCESS".equals(queried.getStatus()) && queried.getSuccessTime() != null, queried);
    refused("refund beyond the refundable amount", () -> pay.refundV3(refund(trade, "wxjava-r3-" + RUN, 8000, 8800)), "INVALID_REQUEST");
    refused("same out_refund_no, another amount", () -> pay.refundV3(refund(trade, refundNo, 999, 8800)), "INVALID_REQUEST");
    refused("refund of an unknown order", () -> pay.refundV3(refund("wxjava-none-" + RUN, "wxjava-r4-" + RUN, 1, 100)), "RESOURCE_NOT_EXISTS");
    refused("query of an unknown refund", () -> pay.refundQueryV3("wxjava-none-" + RUN), "RESOURCE_NOT_EXISTS");
    admin("PATCH", "/admin/wechat/merchants/" + MCH_ID, "{\"refundable_balance\":10}", 200);
    refused("refund beyond the balance", () -> pay.refundV3(refund(trade, "wxjava-r5-" + RUN, 500, 8800)), "NOT_ENOUGH");
    admin("PATCH", "/admin/wechat/merchants/" + MCH_ID, "{\"refundable_balance\":100000000}", 200);
    WxPayService forger = service(newPrivateKeyPem(), file("pub_key.pem").toString());
    refused("request signed with another key", () -> forger.refundV3(refund(trade, "wxjava-r6-" + RUN, 1, 8800)), "SIGN_ERROR");

    WxPayService suspicious = service(key, newPublicKeyPem().toString());
    try {
      suspicious.refundQueryV3(refundNo);
      check("a client with the wrong public key refuses the 200 answer", false, "accepted");
    } catch (WxPayException e) {
      check("a client with the wrong public key refuses the 200 answer", e.getErrCode() == null, e);
    }

    String closing = "wxjava-close-" + RUN;
    pay.unifiedOrderV3(TradeTypeEnum.NATIVE, order(closing, 100));
    try {
      pay.closeOrderV3(closing);
    } catch (WxPayException e) {
      // WxJava reads the Content-Type of every 2xx answer, a 204 included.
      check("close: the 204 accepted", false, e);
    }
    check("close: 204 accepted, closed order CLOSED", "CLOSED".equals(pay.queryOrderV3(null, closing).getTradeState()), closing);
    System.out.println("WxJava fidelity: all checks passed");
  }
}

//! Alipay open platform (`gateway.do`, OpenAPI v2) wire format, refund-focused.
//!
//! Request flow on the gateway side:
//! 1. [`form::parse_urlencoded`] the query string and the form body, then
//!    [`form::merge_params`] them (the gateway signs over both, spec §1.3).
//! 2. [`CommonParams::parse`] the merged pairs: the `isv.*` sub_code on failure.
//! 3. [`sign::verify_request`] with the app's public key; on failure answer
//!    `isv.invalid-signature` with [`codes::invalid_signature_sub_msg`] of
//!    [`sign::canonical_string`].
//! 4. [`messages::BizRequest::parse`] the `biz_content`.
//! 5. Build a response node from [`messages`], serialise it with [`envelope::node_json`] and
//!    wrap it with [`envelope::encode_response`] (signed with Alipay's private key).
//!
//! The SDK side runs the mirror image: [`sign::sign_request`], then
//! [`envelope::verify_response_as`].
//!
//! [`bill`] holds the trade bill: its GBK CSVs and their zip (spec §8).
//! Asynchronous notifications (the signed form POSTed to `notify_url`) are in [`notify`].
//!
//! Only UTF-8 is decoded and signed (spec §1.4 makes GBK optional).

pub mod bill;
pub mod codes;
pub mod common;
pub mod envelope;
pub mod form;
pub mod keys;
pub mod messages;
pub mod notify;
pub mod sign;

pub use codes::{GatewayCode, SubCode, invalid_signature_sub_msg};
pub use common::{Charset, CommonParamError, CommonParams, Method, Timestamp};
pub use envelope::{
    EncodeError, Envelope, EnvelopeError, NodeKind, ResponseError, encode_envelope,
    encode_error_response, encode_response, encode_typed_response, encode_unsigned_response,
    extract_signed_node, node_json, parse_envelope, response_key, verify_response,
    verify_response_as,
};
pub use form::{
    ConflictingParam, FormError, Params, encode_urlencoded, merge_params, parse_urlencoded,
};
pub use keys::{KeyError, parse_private_key, parse_public_key};
pub use messages::{
    BillDownloadUrlQueryRequest, BillDownloadUrlQueryResponse, BizContentError, BizRequest,
    FastpayRefundQueryRequest, FastpayRefundQueryResponse, FieldProblem, FundBill, RefundStatus,
    ResponseStatus, TradeCloseRequest, TradeCloseResponse, TradePrecreateRequest,
    TradePrecreateResponse, TradeQueryRequest, TradeQueryResponse, TradeRef, TradeRefundRequest,
    TradeRefundResponse, TradeStatus,
};
pub use sign::{
    SignType, SignatureError, canonical_string, sign_bytes, sign_request, verify_bytes,
    verify_request,
};

//! Requests and answers of the v3 endpoints the sandbox serves, as serde types, with the field
//! tables ([`super::decode::Field`]) the server checks requests against and the cross-field
//! rules beside them.
//!
//! - [`refund`]: `POST /v3/refund/domestic/refunds`, `GET …/refunds/{out_refund_no}`,
//!   `POST …/refunds/{refund_id}/apply-abnormal-refund`.
//! - [`transaction`]: `POST /v3/pay/transactions/{jsapi,native,app,h5}`, the order queries and
//!   `…/close`.
//! - [`notification`]: the notification envelope and its refund and transaction plaintexts, and
//!   `GET /v3/certificates`.
//! - [`bill`]: `GET /v3/bill/tradebill` and `GET /v3/bill/fundflowbill`.
//!
//! Amounts are integer fen. Enum-valued members are `String`s on the wire types, so a client
//! keeps reading answers when the platform adds a value; the enums give the known values and
//! parse them. v3 shares `trade_state`, `trade_type` (the four prepay types; answers may also
//! say MICROPAY or FACEPAY) and `channel` with v2, so those are v2's enums
//! ([`TradeState`], [`TradeType`], [`RefundChannel`]); [`RefundStatus`] differs (v2's CHANGE
//! is ABNORMAL, REFUNDCLOSE is CLOSED). Times are RFC 3339 strings with `+08:00`.

pub mod bill;
pub mod notification;
pub mod refund;
pub mod transaction;

pub use bill::{BillResponse, FundFlowBillQuery, TradeBillQuery};
pub use notification::{
    CertificatesResponse, Notification, PlatformCertificate, RefundNotification,
};
pub use refund::{AbnormalRefundRequest, Refund, RefundAmount, RefundRequest};
pub use transaction::{CloseRequest, PrepayRequest, Transaction};

use std::fmt;

use crate::wechat::codes::wire_enum;
pub use crate::wechat::codes::{RefundChannel, TradeState, TradeType};

use super::decode::{Kind, StringRule};

wire_enum! {
    /// A refund's `status` (spec §1.3). v2's CHANGE is ABNORMAL, REFUNDCLOSE is CLOSED.
    pub enum RefundStatus {
        /// Refunded.
        Success = "SUCCESS",
        /// Closed: the refund failed for good.
        Closed = "CLOSED",
        /// Accepted, not settled yet.
        Processing = "PROCESSING",
        /// The original route failed (card cancelled or frozen); not final: the abnormal-refund
        /// API or the merchant platform can redirect it.
        Abnormal = "ABNORMAL",
    }
}

wire_enum! {
    /// The merchant account a refund is paid from (`funds_account`).
    pub enum FundsAccount {
        /// Unsettled funds.
        Unsettled = "UNSETTLED",
        /// Available funds.
        Available = "AVAILABLE",
        /// Unavailable funds.
        Unavailable = "UNAVAILABLE",
        /// The operations account.
        Operation = "OPERATION",
        /// The basic account.
        Basic = "BASIC",
    }
}

impl TradeType {
    /// The v3 prepay endpoint of the type: `/v3/pay/transactions/<this>`.
    #[must_use]
    pub fn prepay_path(self) -> &'static str {
        match self {
            TradeType::Jsapi => "jsapi",
            TradeType::Native => "native",
            TradeType::App => "app",
            TradeType::Mweb => "h5",
        }
    }

    /// The type of a prepay endpoint's last path segment.
    #[must_use]
    pub fn from_prepay_path(segment: &str) -> Option<Self> {
        TradeType::ALL
            .iter()
            .copied()
            .find(|t| t.prepay_path() == segment)
    }
}

/// The only currency: `CNY`.
pub const CNY: &str = "CNY";

/// `out_refund_no` characters: digits, letters and `_-|*@` (spec §1.1).
#[must_use]
pub fn is_out_refund_no_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '*' | '@')
}

/// `out_trade_no` characters: digits, letters and `_-|*`.
#[must_use]
pub fn is_out_trade_no_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '*')
}

/// Whether `s` is a valid `out_refund_no`: 1 to 64 of [`is_out_refund_no_char`].
#[must_use]
pub fn is_valid_out_refund_no(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.chars().all(is_out_refund_no_char)
}

/// Whether `s` is a valid `out_trade_no`: 1 to 32 of [`is_out_trade_no_char`].
#[must_use]
pub fn is_valid_out_trade_no(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.chars().all(is_out_trade_no_char)
}

/// The `out_refund_no` rule as a field kind.
pub const OUT_REFUND_NO: Kind = Kind::String {
    max_bytes: 64,
    rule: StringRule::Charset {
        allowed: is_out_refund_no_char,
        pattern: "^[0-9A-Za-z_\\-|*@]{1,64}$",
    },
};

/// The `out_trade_no` rule as a field kind.
pub const OUT_TRADE_NO: Kind = Kind::String {
    max_bytes: 32,
    rule: StringRule::Charset {
        allowed: is_out_trade_no_char,
        pattern: "^[0-9A-Za-z_\\-|*]{1,32}$",
    },
};

/// `transaction_id`, `mchid`, `appid` and other id-like members: 1 to 32 ASCII letters and
/// digits.
pub const ID32: Kind = Kind::String {
    max_bytes: 32,
    rule: StringRule::Charset {
        allowed: |c| c.is_ascii_alphanumeric() || c == '_',
        pattern: "^[0-9A-Za-z_]{1,32}$",
    },
};

/// `currency`: `CNY` only.
pub const CURRENCY: Kind = super::decode::one_of(16, &[CNY]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_rules() {
        assert!(is_valid_out_refund_no("R-2024|01*a@b_c"));
        assert!(is_valid_out_refund_no(&"9".repeat(64)));
        assert!(!is_valid_out_refund_no(&"9".repeat(65)));
        assert!(!is_valid_out_refund_no(""));
        assert!(!is_valid_out_refund_no("退款1"));
        assert!(!is_valid_out_refund_no("a b"));
        assert!(is_valid_out_trade_no("bench-00000001"));
        assert!(!is_valid_out_trade_no("a@b"));
        assert!(!is_valid_out_trade_no(&"1".repeat(33)));
    }

    #[test]
    fn prepay_paths() {
        for (segment, trade_type) in [
            ("jsapi", TradeType::Jsapi),
            ("native", TradeType::Native),
            ("app", TradeType::App),
            ("h5", TradeType::Mweb),
        ] {
            assert_eq!(TradeType::from_prepay_path(segment), Some(trade_type));
            assert_eq!(trade_type.prepay_path(), segment);
        }
        assert_eq!(TradeType::from_prepay_path("codepay"), None);
        assert_eq!(TradeType::from_prepay_path("MWEB"), None);
        assert_eq!(
            RefundStatus::from_wire("ABNORMAL"),
            Some(RefundStatus::Abnormal)
        );
        assert_eq!(TradeState::ALL.len(), 7);
    }
}

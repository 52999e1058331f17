//! The deviations list (`DEVIATIONS.md` at the repository root), read as data.
//!
//! Each table row starts with a stable `id` in backticks. Where the reference models expect
//! what the specification says but the mock knowingly answers otherwise, the model names the
//! row by id ([`Deviations::cite`]); a cited id missing from the file is a failure, so no
//! deviation hides in code.

use std::collections::BTreeMap;

/// The file as compiled into this crate (the runner carries it to any server).
pub const EMBEDDED: &str = include_str!("../../DEVIATIONS.md");

/// Ids the models cite. Checked against the file by [`Deviations::check_cited`].
pub const CITED: &[&str] = &[
    WX_MCHID_NOT_EXIST_UNSIGNED,
    WX_OUT_REFUND_NO_OTHER_ORDER,
    WX_TOTAL_FEE_MISMATCH,
    WX_FULLY_REFUNDED,
    WX_CUMULATIVE_OVER_PAYMENT,
    WX_51ST_REFUND,
    WX_REFUND_SPACING,
    WX_PARTIAL_REFUND_TRADE_STATE,
    WX_SETTLEMENT_TIME,
    ALI_REFUND_SPACING,
    ALI_QUERY_NEVER_REFUNDED,
    ALI_QUERY_REFUND_STATUS,
    ALI_REPLAY_AFTER_CLOSE,
    ALI_REFUND_WITHOUT_OUT_REQUEST_NO,
    ALI_SELLER_BALANCE,
];

/// An unknown mch_id is answered `MCHID_NOT_EXIST` without a signature.
pub const WX_MCHID_NOT_EXIST_UNSIGNED: &str = "wx-mchid-not-exist-unsigned";
/// An out_refund_no of another order: `INVALID_REQUEST`.
pub const WX_OUT_REFUND_NO_OTHER_ORDER: &str = "wx-out-refund-no-other-order";
/// total_fee other than the order amount: `INVALID_REQUEST`.
pub const WX_TOTAL_FEE_MISMATCH: &str = "wx-total-fee-mismatch";
/// A fully refunded order: `TRADE_STATE_ERROR`.
pub const WX_FULLY_REFUNDED: &str = "wx-fully-refunded";
/// More than is left: `INVALID_REQUEST 申请退款金额超过订单可退金额`.
pub const WX_CUMULATIVE_OVER_PAYMENT: &str = "wx-cumulative-over-payment";
/// The 51st refund: `INVALID_REQUEST`.
pub const WX_51ST_REFUND: &str = "wx-51st-refund";
/// Two refunds of an order within a minute: `FREQUENCY_LIMITED`.
pub const WX_REFUND_SPACING: &str = "wx-refund-spacing";
/// trade_state REFUND while any refund is not closed.
pub const WX_PARTIAL_REFUND_TRADE_STATE: &str = "wx-partial-refund-trade-state";
/// Refunds settle after a fixed delay on the sandbox clock.
pub const WX_SETTLEMENT_TIME: &str = "wx-settlement-time";
/// Two refunds of a trade within 3 s: `ACQ.SYSTEM_ERROR`.
pub const ALI_REFUND_SPACING: &str = "ali-refund-spacing";
/// Refund query of a number never refunded: bare `10000 Success`.
pub const ALI_QUERY_NEVER_REFUNDED: &str = "ali-query-never-refunded";
/// Refund query of a done refund carries `refund_status` `REFUND_SUCCESS`.
pub const ALI_QUERY_REFUND_STATUS: &str = "ali-query-refund-status";
/// A replay of a done out_request_no succeeds (fund_change N) even on a closed trade.
pub const ALI_REPLAY_AFTER_CLOSE: &str = "ali-replay-after-close";
/// A refund without out_request_no is numbered by the trade's out_trade_no.
pub const ALI_REFUND_WITHOUT_OUT_REQUEST_NO: &str = "ali-refund-without-out-request-no";
/// The seller balance is per app.
pub const ALI_SELLER_BALANCE: &str = "ali-seller-balance";

/// One row of the deviations file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// The stable id (`wx-...`, `ali-...`).
    pub id: String,
    /// The section it is listed under (`WeChat Pay v2`, `Alipay (gateway.do)`).
    pub section: String,
    /// The situation column.
    pub situation: String,
    /// What the mock does.
    pub mock: String,
}

/// Why the deviations file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviationError {
    /// A table row without a backticked id in its first column.
    #[error("line {line}: table row without an `id` in its first column")]
    RowWithoutId {
        /// 1-based line number.
        line: usize,
    },
    /// The same id twice.
    #[error("id {0} is listed twice")]
    Duplicate(String),
    /// The models cite an id the file does not list.
    #[error("deviation {0} is cited by the conformance models but missing from DEVIATIONS.md")]
    Missing(String),
}

/// The parsed deviations file.
#[derive(Debug, Clone)]
pub struct Deviations {
    rows: BTreeMap<String, Deviation>,
}

impl Deviations {
    /// Parses a deviations file: every markdown table row after a header whose first column
    /// is `id`.
    ///
    /// # Errors
    /// A row without an id, or an id twice.
    pub fn parse(text: &str) -> Result<Deviations, DeviationError> {
        let mut rows = BTreeMap::new();
        let mut section = String::new();
        let mut in_table = false;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if let Some(title) = line.strip_prefix("## ") {
                section = title.trim().to_owned();
                in_table = false;
                continue;
            }
            if !line.starts_with('|') {
                in_table = false;
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let first = cells.first().copied().unwrap_or("");
            if first == "id" {
                in_table = true;
                continue;
            }
            if !in_table || first.starts_with("---") {
                continue;
            }
            let id = first
                .strip_prefix('`')
                .and_then(|s| s.strip_suffix('`'))
                .filter(|s| !s.is_empty())
                .ok_or(DeviationError::RowWithoutId { line: n + 1 })?;
            let cell = |i: usize| cells.get(i).copied().unwrap_or("").to_owned();
            let row = Deviation {
                id: id.to_owned(),
                section: section.clone(),
                situation: cell(1),
                mock: cell(3),
            };
            if rows.insert(id.to_owned(), row).is_some() {
                return Err(DeviationError::Duplicate(id.to_owned()));
            }
        }
        Ok(Deviations { rows })
    }

    /// The file compiled into this crate.
    ///
    /// # Errors
    /// As [`Deviations::parse`].
    pub fn embedded() -> Result<Deviations, DeviationError> {
        Deviations::parse(EMBEDDED)
    }

    /// The row with this id, or [`DeviationError::Missing`]: what a model calls when it
    /// expects the mock's documented choice instead of the spec's answer.
    ///
    /// # Errors
    /// [`DeviationError::Missing`].
    pub fn cite(&self, id: &str) -> Result<&Deviation, DeviationError> {
        self.rows
            .get(id)
            .ok_or_else(|| DeviationError::Missing(id.to_owned()))
    }

    /// Every id the models cite ([`CITED`]) is listed.
    ///
    /// # Errors
    /// The first missing id.
    pub fn check_cited(&self) -> Result<(), DeviationError> {
        CITED.iter().try_for_each(|id| self.cite(id).map(|_| ()))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the file lists nothing.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every row, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Deviation> {
        self.rows.values()
    }
}

/// Panics unless `id` is listed in the embedded file: for the models' predictions, which run
/// inside a property test where a panic is the failure report.
///
/// # Panics
/// When the id is missing (or the file does not parse).
#[allow(clippy::panic)]
pub fn cited(id: &'static str) -> &'static str {
    use std::sync::OnceLock;
    static FILE: OnceLock<Result<Deviations, DeviationError>> = OnceLock::new();
    match FILE.get_or_init(Deviations::embedded) {
        Ok(file) => match file.cite(id) {
            Ok(_) => id,
            Err(e) => panic!("{e}"),
        },
        Err(e) => panic!("DEVIATIONS.md: {e}"),
    }
}

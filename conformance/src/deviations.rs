//! The deviations list (`DEVIATIONS.md` at the repository root), read as data.
//!
//! Each table row starts with a stable `id` in backticks. Where the reference models expect
//! what the specification says but the mock knowingly answers otherwise, the model names the
//! row by id ([`Deviations::cite`]); a cited id missing from the file is a failure, so no
//! deviation hides in code. The code that chooses a deviating answer names its row the same
//! way, in a comment (`// deviation: wx-...`, read by [`cited_in_source`]), and this crate's
//! tests check every such id against the file.

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
    WX3_REFUND_CODES,
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
/// A v3 refund refusal: the v3 code of each ledger rule (`RESOURCE_NOT_EXISTS`,
/// `INVALID_REQUEST`, `FREQUENCY_LIMITED`, `NOT_ENOUGH`).
pub const WX3_REFUND_CODES: &str = "wx3-refund-codes";
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

/// The ids a Rust source file cites in its comments as `deviation: <id>` or
/// `deviations: <id>, <id>` (backticks allowed). The lines of one comment are read as one
/// text, so a citation may wrap; an id is kebab-case with at least one hyphen.
pub fn cited_in_source(source: &str) -> Vec<String> {
    let mut cited = Vec::new();
    let mut comment = String::new();
    for line in source.lines().chain(std::iter::once("")) {
        match line.find("//") {
            Some(start) => {
                let text = line
                    .get(start..)
                    .unwrap_or("")
                    .trim_start_matches(['/', '!']);
                comment.push(' ');
                comment.push_str(text);
            }
            None => {
                cite_in_comment(&comment, &mut cited);
                comment.clear();
            }
        }
    }
    cited
}

fn cite_in_comment(comment: &str, cited: &mut Vec<String>) {
    let mut rest = comment;
    while let Some(at) = rest.find("deviation") {
        let after = rest.get(at + "deviation".len()..).unwrap_or("");
        let after = after.strip_prefix('s').unwrap_or(after);
        rest = after;
        let Some(list) = after.strip_prefix(':') else {
            continue;
        };
        for word in list.split_whitespace() {
            let id = word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
            if is_id(id) {
                cited.push(id.to_owned());
            }
            if !word.ends_with(',') {
                break;
            }
        }
    }
}

fn is_id(word: &str) -> bool {
    word.contains('-')
        && word.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn citations_are_read_from_comments_only() {
        let source = "\
// deviation: wx-one (why)
let url = \"deviation: wx-not-a-comment\";
/// A wrapped one (deviations: `wx-two`,
/// `ali-three`). Prose about a deviation: none here.
fn f() {} // deviation: notify-four
";
        assert_eq!(
            cited_in_source(source),
            ["wx-one", "wx-two", "ali-three", "notify-four"]
        );
    }

    fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }

    /// Every id the mock, protocol and SDK sources cite is a row of DEVIATIONS.md, and both
    /// reply tables cite theirs.
    #[test]
    fn every_id_cited_in_the_sources_is_listed() {
        let file = Deviations::embedded().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for crate_dir in ["mock-server/src", "protocol/src", "sdk/src"] {
            rust_files(&root.join(crate_dir), &mut files);
        }
        let mut missing = Vec::new();
        let mut citing = Vec::new();
        for path in &files {
            let source = std::fs::read_to_string(path).unwrap();
            let cited = cited_in_source(&source);
            for id in &cited {
                if file.cite(id).is_err() {
                    missing.push(format!("{}: {id}", path.display()));
                }
            }
            if !cited.is_empty() {
                citing.push(path.clone());
            }
        }
        assert_eq!(missing, Vec::<String>::new());
        for table in [
            "mock-server/src/wechat/reply.rs",
            "mock-server/src/alipay/reply.rs",
        ] {
            assert!(
                citing.contains(&root.join(table)),
                "{table} cites no deviation"
            );
        }
    }
}

//! Platform-shaped identifiers and nonces from a seedable RNG, so a run can be replayed.
//!
//! The RNG is ChaCha12 (what `rand`'s `StdRng` is, named so that its position in the stream
//! can be read and set): a seed and a position say exactly where a generator is, which is
//! what a saved state keeps ([`IdGenerator::seed`], [`IdGenerator::position`],
//! [`IdGenerator::at`]).

use rand::rngs::ChaCha12Rng;
use rand::{RngExt, SeedableRng};

use crate::clock::Timestamp;

/// A seed from the system's entropy, for a sandbox not asked to replay a run: two starts
/// (without persistence) then never hand out the same ids.
pub fn entropy_seed() -> u64 {
    rand::random()
}

/// Source of every random value the sandbox produces.
#[derive(Debug)]
pub struct IdGenerator {
    seed: u64,
    rng: ChaCha12Rng,
}

impl IdGenerator {
    /// A generator that replays the same sequence for the same seed.
    pub fn seeded(seed: u64) -> IdGenerator {
        IdGenerator {
            seed,
            rng: ChaCha12Rng::seed_from_u64(seed),
        }
    }

    /// The generator of `seed` after `position` words of its stream were drawn: it goes on
    /// exactly as the one whose [`IdGenerator::position`] that was.
    pub fn at(seed: u64, position: u64) -> IdGenerator {
        let mut generator = IdGenerator::seeded(seed);
        generator.rng.set_word_pos(u128::from(position));
        generator
    }

    /// The seed it started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How many 32-bit words of its stream it has drawn (the stream is 2^68 words long; a
    /// sandbox draws a few dozen per id, so the count fits a `u64`).
    pub fn position(&self) -> u64 {
        u64::try_from(self.rng.get_word_pos()).unwrap_or(u64::MAX)
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.rng.random_range(0..10u8)))
            .collect()
    }

    /// A 28-digit WeChat `transaction_id` such as `4200000560202005168434734774`:
    /// a `42000` prefix, 5 digits, the Beijing date, 10 digits.
    pub fn wechat_transaction_id(&mut self, at: Timestamp) -> String {
        format!(
            "42000{}{}{}",
            self.digits(5),
            at.beijing_date(),
            self.digits(10)
        )
    }

    /// A 29-digit WeChat `refund_id` such as `50300604212020051600550537447`:
    /// a `50300` prefix, 7 digits, the Beijing date, 9 digits.
    pub fn wechat_refund_id(&mut self, at: Timestamp) -> String {
        format!(
            "50300{}{}{}",
            self.digits(7),
            at.beijing_date(),
            self.digits(9)
        )
    }

    /// A 20-digit coupon id.
    pub fn coupon_id(&mut self) -> String {
        format!("2{}", self.digits(19))
    }

    /// A merchant order number for generated demo orders.
    pub fn out_trade_no(&mut self, at: Timestamp) -> String {
        format!("demo{}{}", at.beijing_compact(), self.digits(6))
    }

    /// A 28-digit Alipay `trade_no` such as `2013112011001004330000121536`:
    /// the Beijing date, `2200` and 16 digits.
    pub fn alipay_trade_no(&mut self, at: Timestamp) -> String {
        format!("{}2200{}", at.beijing_date(), self.digits(16))
    }

    /// An Alipay face-to-face QR code such as `https://qr.alipay.com/bax03431ljhokirwl38f00a7`:
    /// `bax0` and 20 lower-case letters and digits.
    pub fn alipay_qr_code(&mut self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let tail: String = (0..20)
            .map(|_| {
                let i = self.rng.random_range(0..ALPHABET.len());
                ALPHABET.get(i).map_or('0', |b| char::from(*b))
            })
            .collect();
        format!("https://qr.alipay.com/bax0{tail}")
    }

    /// An MWEB `mweb_url` for a prepay_id: the H5 cashier page with a 10-digit package.
    pub fn wechat_mweb_url(&mut self, prepay_id: &str) -> String {
        format!(
            "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}&package={}",
            self.digits(10)
        )
    }

    fn lower_alnum(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| {
                let i = self.rng.random_range(0..alphabet.len());
                alphabet.get(i).map_or('0', |b| char::from(*b))
            })
            .collect()
    }

    /// A 36-character `prepay_id` such as `wx201410272009395522657a690389285100`: `wx`, the
    /// Beijing time `yyyyMMddHHmmss`, 20 lower-case hex digits.
    pub fn wechat_prepay_id(&mut self, at: Timestamp) -> String {
        let tail = self.lower_alnum(b"0123456789abcdef", 20);
        format!("wx{}{tail}", at.beijing_compact())
    }

    /// A NATIVE `code_url` (QR content) such as `weixin://wxpay/bizpayurl?pr=8bTk1DYzz`.
    pub fn wechat_code_url(&mut self) -> String {
        let tail = self.lower_alnum(
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            7,
        );
        format!("weixin://wxpay/bizpayurl?pr={tail}")
    }

    /// A v3 notification id such as `EV-2018022511223320873`: `EV-`, the Beijing date, 10
    /// digits (the length of the published examples).
    pub fn wechat_event_id(&mut self, at: Timestamp) -> String {
        format!("EV-{}{}", at.beijing_date(), self.digits(10))
    }

    /// A uniformly random number below 100: the sandbox's dice (switch-over signers, probes).
    pub fn percent_roll(&mut self) -> u32 {
        self.rng.random_range(0..100u32)
    }

    /// A sandbox `sandbox_signkey`: 32 lower-case hex digits.
    pub fn wechat_sandbox_signkey(&mut self) -> String {
        self.lower_alnum(b"0123456789abcdef", 32)
    }

    /// A 16-character alphanumeric nonce, like the real server's `nonce_str` (deviation:
    /// `wx-nonce-str`).
    pub fn nonce(&mut self) -> String {
        (0..16)
            .map(|_| char::from(self.rng.sample(rand::distr::Alphanumeric)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_platform_shapes_and_replay_for_a_seed() {
        let at = Timestamp(1_589_600_000_000); // 2020-05-16 11:33:20 Beijing
        let mut a = IdGenerator::seeded(7);
        let mut b = IdGenerator::seeded(7);
        let tx = a.wechat_transaction_id(at);
        assert_eq!(tx.len(), 28);
        assert!(tx.starts_with("42000") && tx.bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(&tx[10..18], "20200516");
        let refund = a.wechat_refund_id(at);
        assert_eq!(refund.len(), 29);
        assert!(refund.starts_with("50300"));
        assert_eq!(a.nonce().len(), 16);
        assert_eq!(b.wechat_transaction_id(at), tx);
        assert_eq!(b.wechat_refund_id(at), refund);
        assert_eq!(a.alipay_trade_no(at).len(), 28);
        let qr = a.alipay_qr_code();
        assert_eq!(qr.len(), "https://qr.alipay.com/bax0".len() + 20);
        let tail = qr.trim_start_matches("https://qr.alipay.com/bax0");
        assert!(
            tail.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_eq!(b.nonce().len(), 16);
        assert_eq!(b.alipay_trade_no(at).len(), 28);
        assert_eq!(b.alipay_qr_code(), qr);
    }

    #[test]
    fn a_generator_restored_at_its_position_goes_on_the_same_way() {
        let at = Timestamp(1_589_600_000_000);
        let mut original = IdGenerator::seeded(20_141_111);
        original.wechat_refund_id(at);
        original.nonce();
        let mut restored = IdGenerator::at(original.seed(), original.position());
        assert_eq!(restored.position(), original.position());
        assert_eq!(restored.wechat_refund_id(at), original.wechat_refund_id(at));
        assert_eq!(restored.alipay_qr_code(), original.alipay_qr_code());
        assert_ne!(IdGenerator::at(20_141_111, 0).nonce(), restored.nonce());
    }

    #[test]
    fn the_sequence_is_the_one_std_rng_gave_for_a_seed() {
        // Ids seen before the switch from StdRng stay the same: StdRng is this ChaCha12.
        use rand::Rng;
        let mut std = rand::rngs::StdRng::seed_from_u64(7);
        let mut named = IdGenerator::seeded(7);
        assert_eq!(std.next_u64(), named.rng.next_u64());
    }
}

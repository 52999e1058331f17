//! Serial numbers and the platform's identity (spec §1.8).
//!
//! Two kinds of value travel in `serial_no` and `Wechatpay-Serial`:
//! - a **certificate serial**: upper-case hex of an X.509 serial number, without leading zeros
//!   (what `fmt.Sprintf("%X", cert.SerialNumber)` and Java's `toString(16).toUpperCase()` give),
//!   40 digits for the platform's 20-byte serials. The merchant's API certificate is named this
//!   way in `Authorization`, the platform certificates in `Wechatpay-Serial`;
//! - a **WeChat Pay public-key id**: `PUB_KEY_ID_` and 34 digits (2024 on).
//!
//! A merchant's platform identity is in one of the real modes ([`IdentityMode`]): platform
//! certificates, the WeChat Pay public key, or the switch-over from the first to the second,
//! during which answers follow the request's `Wechatpay-Serial` and notifications pick the
//! public key with a share that rises daily ([`public_key_share_percent`]).

use std::fmt;

/// The prefix of WeChat Pay public-key ids.
pub const PUB_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";
/// Digits after the prefix in both observed ids (spec §1.8).
pub const PUB_KEY_ID_DIGITS: usize = 34;
/// Days of the switch-over before every notification uses the public key.
pub const SWITCH_OVER_DAYS: u32 = 7;

/// What a serial value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialKind {
    /// An X.509 certificate serial (hex).
    Certificate,
    /// A WeChat Pay public-key id (`PUB_KEY_ID_…`).
    PublicKeyId,
}

/// Classifies a `serial_no` / `Wechatpay-Serial` value; `None` if it is neither form.
///
/// Certificate serials: 1 to 40 hex digits, either case (clients differ). Public-key ids: the
/// prefix and 34 digits.
#[must_use]
pub fn classify(serial: &str) -> Option<SerialKind> {
    if let Some(digits) = serial.strip_prefix(PUB_KEY_ID_PREFIX) {
        return (digits.len() == PUB_KEY_ID_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(SerialKind::PublicKeyId);
    }
    ((1..=40).contains(&serial.len()) && serial.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(SerialKind::Certificate)
}

/// Whether two certificate serials are the same (hex digits compare case-insensitively, as the
/// official verifiers do).
#[must_use]
pub fn same_serial(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The serial of a DER X.509 certificate as the clients print it: upper-case hex, no leading
/// zeros.
///
/// # Errors
/// [`SerialError`] if `der` is not a certificate.
pub fn certificate_serial_hex(der: &[u8]) -> Result<String, SerialError> {
    use x509_parser::prelude::FromDer as _;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|e| SerialError(e.to_string()))?;
    Ok(serial_hex(cert.raw_serial()))
}

/// Upper-case hex of a big-endian serial without leading zero digits (`"0"` for zero).
#[must_use]
pub fn serial_hex(raw: &[u8]) -> String {
    let full: String = raw.iter().map(|b| format!("{b:02X}")).collect();
    let trimmed = full.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Bytes that should be a certificate are not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an X.509 certificate: {0}")]
pub struct SerialError(pub String);

/// A sandbox public-key id in the observed shape (spec §1.8, structure UNCONFIRMED):
/// `PUB_KEY_ID_` + `01` + the mchid's last ten digits (zero-padded) + the issue date
/// `YYYYMMDD` + a 14-digit sequence.
#[must_use]
pub fn public_key_id(mchid: &str, year: u16, month: u8, day: u8, sequence: u64) -> String {
    let digits: String = mchid.chars().filter(char::is_ascii_digit).collect();
    let tail = digits
        .get(digits.len().saturating_sub(10)..)
        .unwrap_or_default();
    format!(
        "{PUB_KEY_ID_PREFIX}01{tail:0>10}{year:04}{month:02}{day:02}{:014}",
        sequence % 100_000_000_000_000
    )
}

/// Which key signs an answer or a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signer {
    /// The newest platform certificate's key (`Wechatpay-Serial` = its serial).
    Certificate,
    /// The WeChat Pay public key's private half (`Wechatpay-Serial` = `PUB_KEY_ID_…`).
    PublicKey,
}

impl fmt::Display for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signer::Certificate => "certificate",
            Signer::PublicKey => "public_key",
        })
    }
}

/// A merchant's platform identity mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityMode {
    /// Platform certificates only (merchants from before 2024); `/v3/certificates` serves them.
    Certificates,
    /// The WeChat Pay public key only (new merchants since 2024); no platform certificate.
    PublicKey,
    /// Switching from certificates to the public key: both are valid.
    SwitchOver {
        /// Whole days since the switch began; 0 on its first day.
        days_elapsed: u32,
    },
}

/// The percentage of notifications signed with the public key on a switch-over day: rising by
/// a seventh each day, 100 from the seventh day on (spec §1.8 says "rising daily, 100 % from
/// day 7"; the linear steps are the sandbox's choice). Day 0 is the first day: 14 %.
#[must_use]
pub fn public_key_share_percent(days_elapsed: u32) -> u32 {
    let day = days_elapsed.saturating_add(1);
    if day >= SWITCH_OVER_DAYS {
        100
    } else {
        day * 100 / SWITCH_OVER_DAYS
    }
}

impl IdentityMode {
    /// Which key signs an answer to a request that sent `request_serial` as its
    /// `Wechatpay-Serial` (if any). During the switch-over answers follow that header: a
    /// public-key id gets the public key, anything else the certificate. Outside it the header
    /// has no effect.
    #[must_use]
    pub fn response_signer(self, request_serial: Option<&str>) -> Signer {
        match self {
            IdentityMode::Certificates => Signer::Certificate,
            IdentityMode::PublicKey => Signer::PublicKey,
            IdentityMode::SwitchOver { .. } => match request_serial.and_then(classify) {
                Some(SerialKind::PublicKeyId) => Signer::PublicKey,
                _ => Signer::Certificate,
            },
        }
    }

    /// Which key signs a notification, given a uniformly random `roll` (any `u32`; only
    /// `roll % 100` is used): during the switch-over the public key with the day's share,
    /// otherwise the mode's only key.
    #[must_use]
    pub fn notification_signer(self, roll: u32) -> Signer {
        match self {
            IdentityMode::Certificates => Signer::Certificate,
            IdentityMode::PublicKey => Signer::PublicKey,
            IdentityMode::SwitchOver { days_elapsed } => {
                if roll % 100 < public_key_share_percent(days_elapsed) {
                    Signer::PublicKey
                } else {
                    Signer::Certificate
                }
            }
        }
    }

    /// Whether `/v3/certificates` has certificates to serve.
    #[must_use]
    pub fn has_certificates(self) -> bool {
        !matches!(self, IdentityMode::PublicKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_observed_values() {
        assert_eq!(
            classify("PUB_KEY_ID_0112860886012025062700111588000000"),
            Some(SerialKind::PublicKeyId)
        );
        assert_eq!(
            classify("5157F09EFDC096DE15EBE81A47057A7232F1B8E1"),
            Some(SerialKind::Certificate)
        );
        assert_eq!(classify("5dea10ef55877e3c"), Some(SerialKind::Certificate));
        for bad in [
            "",
            "PUB_KEY_ID_",
            "PUB_KEY_ID_01142321349124100000000000********",
            "PUB_KEY_ID_011286088601202506270011158800000", // 33 digits
            "5157F09EFDC096DE15EBE81A47057A7232F1B8E1A",    // 41 hex digits
            "XYZ",
        ] {
            assert_eq!(classify(bad), None, "{bad}");
        }
        assert!(same_serial("5dea10ef", "5DEA10EF"));
    }

    #[test]
    fn serial_hex_drops_leading_zeros() {
        assert_eq!(serial_hex(&[0x00, 0x5D, 0xEA]), "5DEA");
        assert_eq!(serial_hex(&[0x0A, 0xBC]), "ABC");
        assert_eq!(serial_hex(&[0x00]), "0");
        assert_eq!(
            certificate_serial_hex(b"not a certificate").map_err(|_| ()),
            Err(())
        );
    }

    #[test]
    fn public_key_ids_have_the_observed_shape() {
        let id = public_key_id("1286088601", 2025, 6, 27, 111_588_000_000);
        assert_eq!(id, "PUB_KEY_ID_0112860886012025062700111588000000");
        assert_eq!(classify(&id), Some(SerialKind::PublicKeyId));
        assert_eq!(
            public_key_id("19000001", 2026, 1, 2, 1),
            "PUB_KEY_ID_0100190000012026010200000000000001"
        );
        assert_eq!(
            public_key_id("123456789012", 2026, 12, 31, 7),
            "PUB_KEY_ID_0134567890122026123100000000000007"
        );
    }

    #[test]
    fn share_rises_daily_to_all_on_day_seven() {
        let shares: Vec<u32> = (0..9).map(public_key_share_percent).collect();
        assert_eq!(shares, [14, 28, 42, 57, 71, 85, 100, 100, 100]);
    }

    #[test]
    fn answers_follow_the_request_serial_only_during_the_switch_over() {
        let key_id = Some("PUB_KEY_ID_0112860886012025062700111588000000");
        let cert = Some("5157F09EFDC096DE15EBE81A47057A7232F1B8E1");
        let switching = IdentityMode::SwitchOver { days_elapsed: 2 };
        assert_eq!(switching.response_signer(key_id), Signer::PublicKey);
        assert_eq!(switching.response_signer(cert), Signer::Certificate);
        assert_eq!(switching.response_signer(None), Signer::Certificate);
        assert_eq!(switching.response_signer(Some("junk")), Signer::Certificate);
        assert_eq!(
            IdentityMode::Certificates.response_signer(key_id),
            Signer::Certificate
        );
        assert_eq!(
            IdentityMode::PublicKey.response_signer(cert),
            Signer::PublicKey
        );
        assert!(!IdentityMode::PublicKey.has_certificates());
        assert!(switching.has_certificates());
    }

    #[test]
    fn notifications_pick_by_the_roll_and_the_share() {
        let day0 = IdentityMode::SwitchOver { days_elapsed: 0 };
        assert_eq!(day0.notification_signer(13), Signer::PublicKey);
        assert_eq!(day0.notification_signer(14), Signer::Certificate);
        assert_eq!(day0.notification_signer(113), Signer::PublicKey);
        let counted = (0..100)
            .filter(|r| day0.notification_signer(*r) == Signer::PublicKey)
            .count();
        assert_eq!(counted, 14);
        let day6 = IdentityMode::SwitchOver { days_elapsed: 6 };
        assert!((0..100).all(|r| day6.notification_signer(r) == Signer::PublicKey));
        assert_eq!(
            IdentityMode::Certificates.notification_signer(0),
            Signer::Certificate
        );
        assert_eq!(
            IdentityMode::PublicKey.notification_signer(99),
            Signer::PublicKey
        );
    }
}

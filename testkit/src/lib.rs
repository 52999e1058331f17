//! The paysandbox test kit: what the tests of mock-server and the SDK, and the conformance
//! suite, need to drive a sandbox, written once.
//!
//! # Layout
//! - [`admin`]: the admin API client ([`Admin`]), fallible, the one client in the workspace
//!   (the conformance runner uses it against any server): seeding merchants, apps, orders and
//!   trades, paying, forcing refund outcomes, faults, the clock, the journal, notifications,
//!   reset.
//! - [`sandbox`]: an in-process [`Sandbox`] on loopback with its clock frozen at [`T0`], on a
//!   data directory shared by the whole test process, with panicking shortcuts to the admin
//!   API for tests.
//! - [`https`]: HTTPS clients trusting the sandbox CA alone, presenting a merchant
//!   certificate, any PEM pair or none; plain-HTTP clients.
//! - [`clock`]: [`SandboxClock`], an SDK clock whose sleeps advance the sandbox instead.
//! - [`receiver`]: a merchant's notification endpoint on loopback, scripted answers.
//! - [`proxy`]: a tampering man in the middle, for signature tests.
//! - One module per protocol, each with the demo credentials, signed requests as clients
//!   send them, verified answers and SDK clients for the demo merchant or app: [`wechat`]
//!   (API v2: XML, MD5/HMAC, mutual TLS), [`wechat_v3`] (API v3: JSON, RSA-signed requests and
//!   verified answers) and [`alipay`] (gateway.do, RSA2).
//!
//! Tests import [`prelude`]: `use paysandbox_testkit::prelude::*;`.

pub mod admin;
pub mod alipay;
pub mod clock;
pub mod files;
pub mod https;
mod loopback;
pub mod proxy;
pub mod receiver;
pub mod sandbox;
pub mod wechat;
pub mod wechat_v3;

pub use admin::{Admin, AdminError, Fault, TradeAction, TradeTotal};
pub use clock::SandboxClock;
pub use receiver::Receiver;
pub use sandbox::{Sandbox, T0, start, start_with};

/// Everything a test usually needs, for a glob import.
pub mod prelude {
    pub use crate::admin::{Admin, Fault, TradeAction, TradeTotal, outcomes, sent};
    pub use crate::alipay::{
        ALIPAY_APP, Placement, alipay_files, alipay_public_key, alipay_sign_with, alipay_signed,
        alipay_unsigned, app_private_key, pairs, verified, verified_as,
    };
    pub use crate::clock::SandboxClock;
    pub use crate::https::{ClientCert, http_client};
    pub use crate::receiver::Receiver;
    pub use crate::sandbox::{Sandbox, T0, data_dir, merchant_dir, start, start_with};
    pub use crate::wechat::{APPID, KEY, MCH, base, refund_params, signed};
    pub use crate::wechat_v3::{API_V3_KEY, Extra, V3Answer, V3Client, V3Files};
}

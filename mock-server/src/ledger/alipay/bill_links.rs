//! The bill download links the gateway issues (`alipay.data.dataservice.bill.downloadurl.query`,
//! spec §8): each names a zip built when it was issued and works for [`LINK_LIFETIME`] on the
//! injected clock.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;

use crate::clock::Timestamp;

/// How long a download URL works after it was issued (spec §8).
pub const LINK_LIFETIME: Duration = Duration::from_secs(30);

/// One issued download link.
#[derive(Debug, Clone)]
pub struct BillLink {
    /// The app it was issued to.
    pub app_id: String,
    /// The zip's file name (`Content-Disposition`).
    pub file_name: String,
    /// The zip, as built when the link was issued.
    pub zip: Bytes,
    /// The last instant it works.
    pub expires_at: Timestamp,
}

/// The download links issued and not yet pruned, by token.
#[derive(Debug, Default)]
pub struct BillLinks {
    links: HashMap<String, BillLink>,
}

impl BillLinks {
    /// Keeps a new link under `token`, valid for [`LINK_LIFETIME`] from `now`. Links that
    /// expired are forgotten first, so they do not pile up.
    pub fn issue(
        &mut self,
        token: String,
        app_id: String,
        file_name: String,
        zip: Bytes,
        now: Timestamp,
    ) {
        self.links.retain(|_, link| link.expires_at >= now);
        let link = BillLink {
            app_id,
            file_name,
            zip,
            expires_at: now.plus(LINK_LIFETIME),
        };
        self.links.insert(token, link);
    }

    /// The link of `token`, if it is still valid at `now`.
    pub fn get(&self, token: &str, now: Timestamp) -> Option<&BillLink> {
        self.links.get(token).filter(|link| now <= link.expires_at)
    }

    /// How many links are kept.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }
}

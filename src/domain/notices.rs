//! Notices and webhook deliveries, as rules: which e-mails an
//! event calls for and to whom, when a failed delivery is tried again, and
//! when an endpoint that keeps failing is turned off.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// An e-mail notice. Its name is its template's (`templates/mail/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// The codes of a fulfilled order, to the order's notice contact.
    CodesDelivered,
    /// The site-pack instructions and Certiport's contact, within 24 hours
    /// of a site pack's fulfilment.
    SitePack,
    /// An order not confirmed in 48 hours or not fulfilled in 10 business
    /// days, to the desk.
    OrderLate,
    /// 30 days before a membership's anniversary, to the partner's admins.
    RenewalDue,
    /// The renewal window opened today, to the partner's admins.
    RenewalWindowOpened,
    /// The renewal window closes in 7 days, to the partner's admins.
    RenewalWindowClosing,
    /// The membership expired and its benefits are lost, to its admins.
    BenefitsLost,
    /// An agreement's unused codes expire within 30 days, to the customer's
    /// administrators.
    CodesExpiring,
}

/// Who a notice goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The notice contact the order was delivered to.
    OrderContact,
    /// The licensing desk (`LICENSEGRAPH_DESK_EMAIL`).
    Desk,
    /// The notice addresses of the organization the event is about.
    OrganizationAdmins,
    /// Those, or else the agreement's notice contact.
    OrganizationAdminsOrAgreementContact,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 8] = [
        Self::CodesDelivered,
        Self::SitePack,
        Self::OrderLate,
        Self::RenewalDue,
        Self::RenewalWindowOpened,
        Self::RenewalWindowClosing,
        Self::BenefitsLost,
        Self::CodesExpiring,
    ];

    /// The stored and GraphQL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::CodesDelivered => "CODES_DELIVERED",
            Self::SitePack => "SITE_PACK",
            Self::OrderLate => "ORDER_LATE",
            Self::RenewalDue => "RENEWAL_DUE",
            Self::RenewalWindowOpened => "RENEWAL_WINDOW_OPENED",
            Self::RenewalWindowClosing => "RENEWAL_WINDOW_CLOSING",
            Self::BenefitsLost => "BENEFITS_LOST",
            Self::CodesExpiring => "CODES_EXPIRING",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Its template's file stem.
    pub fn template(self) -> &'static str {
        match self {
            Self::CodesDelivered => "codes_delivered",
            Self::SitePack => "site_pack",
            Self::OrderLate => "order_late",
            Self::RenewalDue => "renewal_due",
            Self::RenewalWindowOpened => "renewal_window_opened",
            Self::RenewalWindowClosing => "renewal_window_closing",
            Self::BenefitsLost => "benefits_lost",
            Self::CodesExpiring => "codes_expiring",
        }
    }

    pub fn audience(self) -> Audience {
        match self {
            Self::CodesDelivered | Self::SitePack => Audience::OrderContact,
            Self::OrderLate => Audience::Desk,
            Self::CodesExpiring => Audience::OrganizationAdminsOrAgreementContact,
            _ => Audience::OrganizationAdmins,
        }
    }
}

/// The notices an event of `kind` calls for; `site_pack` says whether a
/// fulfilled order's package is a MOS/MTA site pack.
pub fn notices_for(kind: &str, site_pack: bool) -> Vec<NoticeKind> {
    match kind {
        "order.fulfilled" if site_pack => vec![NoticeKind::CodesDelivered, NoticeKind::SitePack],
        "order.fulfilled" => vec![NoticeKind::CodesDelivered],
        "order.late" => vec![NoticeKind::OrderLate],
        "membership.renewal_due" => vec![NoticeKind::RenewalDue],
        "membership.window_opened" => vec![NoticeKind::RenewalWindowOpened],
        "membership.window_closing" => vec![NoticeKind::RenewalWindowClosing],
        "membership.expired" => vec![NoticeKind::BenefitsLost],
        "codes.expiring" => vec![NoticeKind::CodesExpiring],
        _ => vec![],
    }
}

/// Whether a notice of `kind`, for an event written on `written_on` whose
/// window closes on `window_closes_on`, comes too late to be of use: a
/// renewal reminder enqueued after its window closed (a scheduler catching
/// up on long downtime), or news of an expiry more than 30 days old. The
/// event stays in the feed; the e-mail is not sent.
pub fn stale(kind: NoticeKind, written_on: NaiveDate, window_closes_on: Option<NaiveDate>) -> bool {
    let Some(closes) = window_closes_on else { return false };
    match kind {
        NoticeKind::RenewalDue | NoticeKind::RenewalWindowOpened | NoticeKind::RenewalWindowClosing => {
            written_on > closes
        }
        NoticeKind::BenefitsLost => written_on > closes + Duration::days(31),
        _ => false,
    }
}

/// Codes listed in a delivery e-mail's body; past this they come as a CSV
/// attachment instead.
pub const CODES_IN_BODY: usize = 200;

/// Waits before the 2nd, 3rd, ... attempt of a webhook delivery, as the
/// Standard Webhooks guidance suggests: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 10 h. After the last, the delivery has failed.
pub const WEBHOOK_RETRIES: [i64; 7] = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600];

/// Waits between e-mail attempts (the server is ours or the operator's:
/// shorter): 30 s, 2 min, 10 min, 1 h, 6 h; then failed.
pub const MAIL_RETRIES: [i64; 5] = [30, 120, 600, 3600, 6 * 3600];

/// An endpoint failing with no success for this long is disabled.
pub const DISABLE_AFTER_DAYS: i64 = 5;

/// When to try again after the `attempts`-th attempt failed, with `jitter`
/// in -1.0 ..= 1.0 moving it by up to a tenth (so many receivers failing
/// together are not all retried at one instant); `None`: give up.
pub fn next_attempt(schedule: &[i64], attempts: usize, failed_at: DateTime<Utc>, jitter: f64) -> Option<DateTime<Utc>> {
    let wait = *schedule.get(attempts.checked_sub(1)?)?;
    let jitter = jitter.clamp(-1.0, 1.0);
    let millis = (wait as f64 * 1000.0 * (1.0 + jitter / 10.0)).round() as i64;
    Some(failed_at + Duration::milliseconds(millis))
}

/// Whether an endpoint failing since `failing_since` is to be disabled at `now`.
pub fn disable_endpoint(failing_since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - failing_since >= Duration::days(DISABLE_AFTER_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn fulfilment_sends_the_codes_and_a_site_pack_its_notice_r12() {
        assert_eq!(notices_for("order.fulfilled", false), vec![NoticeKind::CodesDelivered]);
        assert_eq!(notices_for("order.fulfilled", true), vec![NoticeKind::CodesDelivered, NoticeKind::SitePack]);
        assert!(notices_for("order.placed", true).is_empty());
        assert!(notices_for("code.redeemed", false).is_empty());
    }

    #[test]
    fn every_r36_notice_has_its_event_and_audience() {
        for (event, kind, audience) in [
            ("order.late", NoticeKind::OrderLate, Audience::Desk),
            ("membership.renewal_due", NoticeKind::RenewalDue, Audience::OrganizationAdmins),
            ("membership.window_opened", NoticeKind::RenewalWindowOpened, Audience::OrganizationAdmins),
            ("membership.window_closing", NoticeKind::RenewalWindowClosing, Audience::OrganizationAdmins),
            ("membership.expired", NoticeKind::BenefitsLost, Audience::OrganizationAdmins),
            ("codes.expiring", NoticeKind::CodesExpiring, Audience::OrganizationAdminsOrAgreementContact),
        ] {
            assert_eq!(notices_for(event, false), vec![kind], "{event}");
            assert_eq!(kind.audience(), audience, "{event}");
        }
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn a_reminder_after_its_window_closed_is_not_sent_r36() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default();
        assert!(!stale(NoticeKind::RenewalWindowClosing, day(1), Some(day(1))), "on the last day: sent");
        assert!(stale(NoticeKind::RenewalWindowClosing, day(2), Some(day(1))));
        assert!(stale(NoticeKind::RenewalDue, day(5), Some(day(1))));
        assert!(!stale(NoticeKind::BenefitsLost, day(5), Some(day(1))));
        assert!(!stale(NoticeKind::CodesDelivered, day(31), Some(day(1))));
        assert!(!stale(NoticeKind::RenewalDue, day(31), None));
    }

    #[test]
    fn retries_follow_the_schedule_within_a_tenth_then_stop() {
        let t = at("2026-12-01T10:00:00Z");
        assert_eq!(next_attempt(&WEBHOOK_RETRIES, 1, t, 0.0), Some(at("2026-12-01T10:00:05Z")));
        assert_eq!(next_attempt(&WEBHOOK_RETRIES, 2, t, 0.0), Some(at("2026-12-01T10:05:00Z")));
        assert_eq!(next_attempt(&WEBHOOK_RETRIES, 7, t, 0.0), Some(at("2026-12-01T20:00:00Z")));
        assert_eq!(next_attempt(&WEBHOOK_RETRIES, 8, t, 0.0), None, "eight attempts, then failed");
        assert_eq!(next_attempt(&WEBHOOK_RETRIES, 0, t, 0.0), None);
        assert_eq!(next_attempt(&WEBHOOK_RETRIES, 2, t, 1.0), Some(at("2026-12-01T10:05:30Z")));
        assert_eq!(next_attempt(&WEBHOOK_RETRIES, 2, t, -5.0), Some(at("2026-12-01T10:04:30Z")));
    }

    #[test]
    fn an_endpoint_is_disabled_after_five_days_of_failures() {
        let since = at("2026-12-01T10:00:00Z");
        assert!(!disable_endpoint(since, at("2026-12-06T09:59:59Z")));
        assert!(disable_endpoint(since, at("2026-12-06T10:00:00Z")));
    }
}

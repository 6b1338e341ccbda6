//! Stripe's webhooks, free of I/O: checking the `Stripe-Signature` header over the raw
//! body, and reading the few event types svc-payment acts on.
//!
//! Stripe signs `"{t}.{body}"` with HMAC-SHA256 under the endpoint's secret and sends
//! `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (several `v1` while a secret is being rolled).
//! Verification is a pure function of the secret, header, body and the current time, so it
//! is tested with a fixed clock; the check of each candidate is constant-time.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far a signature's timestamp may be from now, in seconds (Stripe's default): an
/// older one is a replay.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a webhook call was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `stripe-signature` header.
    #[error("no Stripe-Signature header")]
    Missing,
    /// The header has no timestamp or no `v1` signature.
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    /// The timestamp is more than the tolerance away from now.
    #[error("the Stripe-Signature timestamp is outside the tolerance")]
    Stale,
    /// No `v1` value matches.
    #[error("no Stripe-Signature v1 value matches the body")]
    Mismatch,
}

/// Checks `header` (the `Stripe-Signature` value) over the raw `body` with `secret`, at
/// `now` (unix seconds).
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else { continue };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            // A value that is not hex cannot match; it must not stop the others from being tried.
            "v1" => candidates.extend(hex::decode(value).ok()),
            // v0 and schemes of the future are ignored, as Stripe's libraries do.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // Checked: a forged `t=-9223372036854775808` must be stale, not an overflow.
    if now.checked_sub(timestamp).and_then(i64::checked_abs).is_none_or(|age| age > TOLERANCE_SECONDS) {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
    // `verify_slice` compares in constant time: no timing hint about how much matched.
    if candidates.iter().any(|candidate| expected.clone().verify_slice(candidate).is_ok()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `Stripe-Signature` header Stripe would send for `body` at `timestamp`: what the fake
/// Stripe sends, and what a test forges with the wrong secret.
pub fn sign(secret: &str, body: &[u8], timestamp: i64) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// A Stripe event, as far as svc-payment reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StripeEvent {
    /// `evt_…`: processed once.
    pub id: String,
    /// What happened.
    pub kind: EventKind,
}

/// The event types svc-payment acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `payment_intent.succeeded`: the money arrived.
    IntentSucceeded {
        /// `pi_…`.
        intent_id: String,
    },
    /// `payment_intent.payment_failed`: an attempt to pay failed.
    IntentFailed {
        /// `pi_…`.
        intent_id: String,
        /// Stripe's decline or error code, e.g. `card_declined`.
        reason: String,
    },
    /// `charge.refunded`: a charge was refunded (by us, or in Stripe's dashboard).
    ChargeRefunded {
        /// The PaymentIntent of the charge.
        intent_id: String,
        /// Minor units of the charge refunded so far, all refunds together (ours too).
        amount_refunded: i64,
    },
    /// Anything else: acknowledged, not acted on.
    Other(String),
}

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: RawObject,
}

/// The union of the fields read from a PaymentIntent or a Charge.
#[derive(Deserialize)]
struct RawObject {
    id: Option<String>,
    payment_intent: Option<String>,
    last_payment_error: Option<RawError>,
    amount_refunded: Option<i64>,
}

#[derive(Deserialize)]
struct RawError {
    decline_code: Option<String>,
    code: Option<String>,
}

/// Reads a verified event body; why not when it is not a Stripe event.
pub fn parse(body: &[u8]) -> Result<StripeEvent, String> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|e| format!("not a Stripe event: {e}"))?;
    let object = raw.data.object;
    let intent =
        |id: Option<String>| id.filter(|id| !id.is_empty()).ok_or_else(|| format!("{} without an id", raw.kind));
    let kind = match raw.kind.as_str() {
        "payment_intent.succeeded" => EventKind::IntentSucceeded { intent_id: intent(object.id)? },
        "payment_intent.payment_failed" => {
            let reason = object
                .last_payment_error
                .and_then(|e| e.decline_code.or(e.code))
                .unwrap_or_else(|| "payment_failed".to_owned());
            EventKind::IntentFailed { intent_id: intent(object.id)?, reason }
        }
        "charge.refunded" => EventKind::ChargeRefunded {
            intent_id: intent(object.payment_intent)?,
            amount_refunded: object.amount_refunded.filter(|amount| *amount >= 0).unwrap_or(0),
        },
        other => EventKind::Other(other.to_owned()),
    };
    Ok(StripeEvent { id: raw.id, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;
    const T: i64 = 1_700_000_000;
    /// HMAC-SHA256("whsec_test_secret", "1700000000.{\"id\":\"evt_1\"}"), computed outside Rust.
    const KNOWN: &str = "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";

    #[test]
    fn signs_as_stripe_does() {
        assert_eq!(sign(SECRET, BODY, T), format!("t={T},v1={KNOWN}"));
    }

    #[test]
    fn accepts_a_good_signature_within_the_tolerance() {
        let header = format!("t={T},v1={KNOWN}");
        assert_eq!(verify(SECRET, Some(&header), BODY, T), Ok(()));
        assert_eq!(verify(SECRET, Some(&header), BODY, T + TOLERANCE_SECONDS), Ok(()));
        assert_eq!(verify(SECRET, Some(&header), BODY, T - 10), Ok(()), "a little clock skew is fine");
    }

    #[test]
    fn any_v1_value_may_match() {
        let other = "00".repeat(32);
        let header = format!("t={T},v1={other},v0=abc,v1=not-hex,v1={KNOWN}");
        assert_eq!(verify(SECRET, Some(&header), BODY, T), Ok(()));
    }

    #[test]
    fn refuses_forged_stale_and_unsigned_calls() {
        let good = format!("t={T},v1={KNOWN}");
        assert_eq!(verify(SECRET, None, BODY, T), Err(SignatureError::Missing));
        assert_eq!(verify(SECRET, Some(" "), BODY, T), Err(SignatureError::Missing));
        assert_eq!(verify(SECRET, Some(&format!("v1={KNOWN}")), BODY, T), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, Some(&format!("t={T}")), BODY, T), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, Some(&good), BODY, T + TOLERANCE_SECONDS + 1), Err(SignatureError::Stale));
        assert_eq!(verify("whsec_other", Some(&good), BODY, T), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, Some(&good), br#"{"id":"evt_2"}"#, T), Err(SignatureError::Mismatch));
        // A signature over the same body at another time does not carry over.
        let moved = good.replace(&T.to_string(), &(T + 1).to_string());
        assert_eq!(verify(SECRET, Some(&moved), BODY, T), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, Some(&sign("whsec_other", BODY, T)), BODY, T), Err(SignatureError::Mismatch));
        // Timestamps at the ends of the range are stale, not an arithmetic overflow.
        let far = format!("t={},v1={KNOWN}", i64::MAX);
        assert_eq!(verify(SECRET, Some(&far), BODY, i64::MIN), Err(SignatureError::Stale), "now - t overflows");
        for t in [i64::MIN, i64::MAX, i64::MIN + 1] {
            let forged = format!("t={t},v1={KNOWN}");
            assert_eq!(verify(SECRET, Some(&forged), BODY, T), Err(SignatureError::Stale), "t={t}");
        }
    }

    #[test]
    fn reads_the_events_acted_on() {
        let succeeded = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent"}}}"#;
        assert_eq!(
            parse(succeeded).unwrap(),
            StripeEvent { id: "evt_1".into(), kind: EventKind::IntentSucceeded { intent_id: "pi_1".into() } }
        );
        let failed = br#"{"id":"evt_2","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_1","last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds"}}}}"#;
        assert_eq!(
            parse(failed).unwrap().kind,
            EventKind::IntentFailed { intent_id: "pi_1".into(), reason: "insufficient_funds".into() }
        );
        let refunded = br#"{"id":"evt_3","type":"charge.refunded","data":{"object":{"id":"ch_1","payment_intent":"pi_1","refunded":true,"amount_refunded":500}}}"#;
        assert_eq!(
            parse(refunded).unwrap().kind,
            EventKind::ChargeRefunded { intent_id: "pi_1".into(), amount_refunded: 500 }
        );
        let other = br#"{"id":"evt_4","type":"customer.created","data":{"object":{"id":"cus_1"}}}"#;
        assert_eq!(parse(other).unwrap().kind, EventKind::Other("customer.created".into()));
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"id":"evt_5","type":"payment_intent.succeeded","data":{"object":{}}}"#).is_err());
    }
}

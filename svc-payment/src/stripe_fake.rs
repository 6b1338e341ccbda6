//! A stand-in for Stripe in tests (feature `test-util`): the only stand-in of the project,
//! because Stripe is the only outside paid service.
//!
//! A local HTTP server on a port-0 listener that answers the calls async-stripe makes for
//! svc-payment — PaymentIntent create, retrieve and cancel, Refund create — with
//! form-encoded bodies, the secret key checked, and the `Idempotency-Key` header honoured
//! as Stripe does: the same key replays the first response, so a retry never creates a
//! second object. It keeps its state for tests to inspect, and plays the customer's side:
//! [`FakeStripe::succeed`] and [`FakeStripe::decline`] change an intent and return the
//! webhook Stripe would send, signed exactly as Stripe signs (`t=…,v1=…`), for the test to
//! deliver to StripeWebhook.
//!
//! It can also misbehave as Stripe sometimes does, for a while: answer 503 to the calls of
//! one path ([`FakeStripe::fail_for`]), answer them only after a delay
//! ([`FakeStripe::stall_for`]), or lose the reply of a change it made
//! ([`FakeStripe::lose_replies`]). Refunds may be partial, up to what the intent captured,
//! and a refund made in Stripe's dashboard ([`FakeStripe::refund_in_dashboard`]) comes
//! back as the `charge.refunded` webhook Stripe sends.

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::{
    Form, Json, Router,
    extract::{Path, Request, State},
    http::{HeaderMap, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

/// A PaymentIntent the fake holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// `pi_…`.
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// Lower case, as Stripe keeps it.
    pub currency: String,
    /// Stripe's status: `requires_payment_method`, `succeeded`, `canceled`.
    pub status: String,
    /// As created.
    pub metadata: BTreeMap<String, String>,
    /// For Stripe.js.
    pub client_secret: String,
    /// The `Idempotency-Key` it was created with.
    pub idempotency_key: Option<String>,
    /// The last failed attempt's decline code.
    pub decline_code: Option<String>,
}

/// A Refund the fake holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    /// `re_…`.
    pub id: String,
    /// The PaymentIntent refunded.
    pub payment_intent: String,
    /// Minor units.
    pub amount: i64,
    /// The `Idempotency-Key` it was created with.
    pub idempotency_key: Option<String>,
}

/// A webhook as Stripe would POST it: the raw body and its `Stripe-Signature` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// `evt_…`.
    pub event_id: String,
    /// The JSON body, byte for byte.
    pub body: Vec<u8>,
    /// `t=<now>,v1=<hmac>`.
    pub signature: String,
}

#[derive(Default)]
struct Ledger {
    intents: Vec<Intent>,
    refunds: Vec<Refund>,
    /// Responses by idempotency key (with the path they answered), replayed on reuse.
    replies: HashMap<String, (String, StatusCode, Value)>,
    next_id: u64,
    /// How many of the next changes are made but their replies lost on the way back.
    lose: u32,
    /// Misbehaviour for a while, by path prefix.
    faults: Vec<Fault>,
}

/// A way the fake misbehaves on the calls of one path until a moment.
#[derive(Clone, Debug)]
struct Fault {
    /// `/v1/refunds`, `/v1/payment_intents`, …
    path: String,
    /// When it behaves again.
    until: Instant,
    /// What it does meanwhile.
    kind: FaultKind,
}

#[derive(Clone, Copy, Debug)]
enum FaultKind {
    /// 503, nothing done.
    Unavailable,
    /// Answers (and acts) only after this long.
    Stall(Duration),
}

impl Ledger {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_fake{:08}", self.next_id)
    }
}

struct Shared {
    secret_key: String,
    ledger: Mutex<Ledger>,
    /// Calls answered 503 by a fault.
    refused: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panicking test thread cannot leave the ledger half-written: every change is
        // made in one step under the lock.
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The fake Stripe server; stops when dropped.
pub struct FakeStripe {
    addr: SocketAddr,
    webhook_secret: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeStripe {
    /// Starts a fake on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("a bound address");
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let shared = Arc::new(Shared {
            secret_key: format!("sk_test_{suffix}"),
            ledger: Mutex::default(),
            refused: std::sync::atomic::AtomicU64::new(0),
        });
        let router = Router::new()
            .route("/v1/payment_intents", post(create_intent))
            .route("/v1/payment_intents/{id}", get(retrieve_intent))
            .route("/v1/payment_intents/{id}/cancel", post(cancel_intent))
            .route("/v1/refunds", post(create_refund))
            .layer(middleware::from_fn_with_state(Arc::clone(&shared), misbehave))
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "the fake Stripe stopped");
            }
        });
        Self { addr, webhook_secret: format!("whsec_{suffix}"), shared, task }
    }

    /// `STRIPE_API_BASE` for the service under test.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `STRIPE_SECRET_KEY`: the only key the fake accepts.
    pub fn secret_key(&self) -> String {
        self.shared.secret_key.clone()
    }

    /// `STRIPE_WEBHOOK_SECRET`: what the fake signs webhooks with.
    pub fn webhook_secret(&self) -> String {
        self.webhook_secret.clone()
    }

    /// Every PaymentIntent, in creation order.
    pub fn intents(&self) -> Vec<Intent> {
        self.shared.ledger().intents.clone()
    }

    /// Every Refund, in creation order.
    pub fn refunds(&self) -> Vec<Refund> {
        self.shared.ledger().refunds.clone()
    }

    /// Loses the replies of the next `count` changes: Stripe makes them, the caller sees a
    /// server error (as when a connection drops after Stripe acted). A retry with the same
    /// idempotency key then gets the original reply — and no second object.
    pub fn lose_replies(&self, count: u32) {
        self.shared.ledger().lose = count;
    }

    /// Answers every call whose path starts with `path` (`/v1/refunds`) with a 503, doing
    /// nothing, for the next `duration`.
    pub fn fail_for(&self, path: &str, duration: Duration) {
        let fault = Fault { path: path.to_owned(), until: Instant::now() + duration, kind: FaultKind::Unavailable };
        self.shared.ledger().faults.push(fault);
    }

    /// Makes every call whose path starts with `path` wait `delay` before it is handled,
    /// for the next `duration`.
    pub fn stall_for(&self, path: &str, delay: Duration, duration: Duration) {
        let fault = Fault { path: path.to_owned(), until: Instant::now() + duration, kind: FaultKind::Stall(delay) };
        self.shared.ledger().faults.push(fault);
    }

    /// How many calls were answered 503 by [`Self::fail_for`] so far.
    pub fn refused_calls(&self) -> u64 {
        self.shared.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Someone refunds `amount` of `intent_id` in Stripe's dashboard: a refund with no
    /// idempotency key, and the `charge.refunded` webhook (the charge's cumulative
    /// `amount_refunded`, `refunded` once all of it went back).
    pub fn refund_in_dashboard(&self, intent_id: &str, amount: i64) -> Webhook {
        {
            let mut ledger = self.shared.ledger();
            let id = ledger.id("re");
            ledger.refunds.push(Refund { id, payment_intent: intent_id.to_owned(), amount, idempotency_key: None });
        }
        self.charge_refunded(intent_id)
    }

    /// The `charge.refunded` webhook Stripe sends after any refund of `intent_id` (ours
    /// too): the charge with what was refunded of it so far.
    pub fn charge_refunded(&self, intent_id: &str) -> Webhook {
        let object = {
            let ledger = self.shared.ledger();
            let Some(intent) = ledger.intents.iter().find(|i| i.id == intent_id) else {
                panic!("the fake Stripe has no PaymentIntent {intent_id}")
            };
            let refunded: i64 = ledger.refunds.iter().filter(|r| r.payment_intent == intent_id).map(|r| r.amount).sum();
            json!({
                "id": intent.id.replacen("pi_", "ch_", 1),
                "object": "charge",
                "amount": intent.amount,
                "amount_captured": intent.amount,
                "amount_refunded": refunded,
                "currency": intent.currency,
                "payment_intent": intent.id,
                "refunded": refunded >= intent.amount,
            })
        };
        self.event("charge.refunded", object)
    }

    /// The customer pays `intent_id`: it succeeds; the `payment_intent.succeeded` webhook.
    pub fn succeed(&self, intent_id: &str) -> Webhook {
        let object = self.change(intent_id, |intent| {
            intent.status = "succeeded".into();
            intent.decline_code = None;
        });
        self.event("payment_intent.succeeded", object)
    }

    /// The customer's card is declined with `decline_code`: the intent wants another
    /// payment method; the `payment_intent.payment_failed` webhook.
    pub fn decline(&self, intent_id: &str, decline_code: &str) -> Webhook {
        let object = self.change(intent_id, |intent| {
            intent.status = "requires_payment_method".into();
            intent.decline_code = Some(decline_code.to_owned());
        });
        self.event("payment_intent.payment_failed", object)
    }

    /// A webhook of `event_type` about `object`, signed now.
    pub fn event(&self, event_type: &str, object: Value) -> Webhook {
        let (event_id, now) = (self.shared.ledger().id("evt"), chrono::Utc::now().timestamp());
        let body = json!({
            "id": event_id,
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": now,
            "livemode": false,
            "pending_webhooks": 1,
            "type": event_type,
            "data": { "object": object },
        });
        let body = serde_json::to_vec(&body).expect("JSON values serialize");
        let signature = crate::provider::stripe::webhook::sign(&self.webhook_secret, &body, now);
        Webhook { event_id, body, signature }
    }

    fn change(&self, intent_id: &str, change: impl FnOnce(&mut Intent)) -> Value {
        let mut ledger = self.shared.ledger();
        let Some(intent) = ledger.intents.iter_mut().find(|i| i.id == intent_id) else {
            panic!("the fake Stripe has no PaymentIntent {intent_id}")
        };
        change(intent);
        intent_json(intent)
    }
}

// === the HTTP side ===

type Params = Vec<(String, String)>;

/// Applies the faults in force to a request: a 503 without acting, or a wait first.
async fn misbehave(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let now = Instant::now();
    let fault = {
        let mut ledger = shared.ledger();
        ledger.faults.retain(|fault| fault.until > now);
        ledger.faults.iter().rev().find(|fault| path.starts_with(&fault.path)).map(|fault| fault.kind)
    };
    match fault {
        Some(FaultKind::Unavailable) => {
            shared.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let body = json!({ "error": { "type": "api_error", "message": "Stripe is unavailable (the fake says)" } });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
        Some(FaultKind::Stall(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        None => next.run(request).await,
    }
}

fn stripe_error(status: StatusCode, code: &str, message: &str) -> (StatusCode, Value) {
    let kind = if status == StatusCode::UNAUTHORIZED { "authentication_error" } else { "invalid_request_error" };
    (status, json!({ "error": { "type": kind, "code": code, "message": message } }))
}

/// Checks the key, then answers from the replay cache or with `act`, caching the answer
/// under the request's idempotency key — all under one lock, so concurrent requests with
/// one key cannot both act.
fn answer(
    shared: &Shared,
    headers: &HeaderMap,
    path: &str,
    act: impl FnOnce(&mut Ledger, Option<&str>) -> (StatusCode, Value),
) -> Response {
    if let Some(refused) = unauthorized(shared, headers) {
        return refused;
    }
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut ledger = shared.ledger();
    if let Some(key) = &key
        && let Some((first_path, status, body)) = ledger.replies.get(key)
    {
        if first_path != path {
            return reply(stripe_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used for the same endpoint",
            ));
        }
        return reply((*status, body.clone()));
    }
    let (status, body) = act(&mut ledger, key.as_deref());
    if let Some(key) = key {
        ledger.replies.insert(key, (path.to_owned(), status, body.clone()));
    }
    if ledger.lose > 0 {
        ledger.lose -= 1;
        return reply(stripe_error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "the reply was lost"));
    }
    reply((status, body))
}

/// The 401 Stripe answers a request without the secret key with, if it lacks it.
fn unauthorized(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.strip_prefix("Bearer ") == Some(shared.secret_key.as_str()));
    (!authorized).then(|| reply(stripe_error(StatusCode::UNAUTHORIZED, "invalid_api_key", "Invalid API Key provided")))
}

fn reply((status, body): (StatusCode, Value)) -> Response {
    (status, Json(body)).into_response()
}

async fn create_intent(State(shared): State<Arc<Shared>>, headers: HeaderMap, Form(params): Form<Params>) -> Response {
    answer(&shared, &headers, "/v1/payment_intents", |ledger, key| {
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let Some(amount) = param("amount").and_then(|a| a.parse::<i64>().ok()).filter(|a| *a > 0) else {
            return stripe_error(StatusCode::BAD_REQUEST, "parameter_missing", "amount: a positive integer");
        };
        let Some(currency) = param("currency") else {
            return stripe_error(StatusCode::BAD_REQUEST, "parameter_missing", "currency");
        };
        let metadata = params
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("metadata[")?.strip_suffix(']')?.to_owned(), v.clone())))
            .collect();
        let id = ledger.id("pi");
        let intent = Intent {
            client_secret: format!("{id}_secret_{}", uuid::Uuid::new_v4().simple()),
            id,
            amount,
            currency,
            status: "requires_payment_method".into(),
            metadata,
            idempotency_key: key.map(str::to_owned),
            decline_code: None,
        };
        let body = intent_json(&intent);
        ledger.intents.push(intent);
        (StatusCode::OK, body)
    })
}

async fn retrieve_intent(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(refused) = unauthorized(&shared, &headers) {
        return refused;
    }
    reply(match shared.ledger().intents.iter().find(|i| i.id == id) {
        Some(intent) => (StatusCode::OK, intent_json(intent)),
        None => missing(&id),
    })
}

async fn cancel_intent(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(_params): Form<Params>,
) -> Response {
    answer(&shared, &headers, &format!("/v1/payment_intents/{id}/cancel"), |ledger, _| {
        let Some(intent) = ledger.intents.iter_mut().find(|i| i.id == id) else { return missing(&id) };
        if intent.status == "succeeded" || intent.status == "canceled" {
            let message = format!("You cannot cancel this PaymentIntent because it has a status of {}.", intent.status);
            return stripe_error(StatusCode::BAD_REQUEST, "payment_intent_unexpected_state", &message);
        }
        intent.status = "canceled".into();
        (StatusCode::OK, intent_json(intent))
    })
}

async fn create_refund(State(shared): State<Arc<Shared>>, headers: HeaderMap, Form(params): Form<Params>) -> Response {
    answer(&shared, &headers, "/v1/refunds", |ledger, key| {
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let Some(intent_id) = param("payment_intent") else {
            return stripe_error(StatusCode::BAD_REQUEST, "parameter_missing", "payment_intent");
        };
        let Some(intent) = ledger.intents.iter().find(|i| i.id == intent_id).cloned() else {
            return missing(&intent_id);
        };
        if intent.status != "succeeded" {
            return stripe_error(StatusCode::BAD_REQUEST, "charge_not_refundable", "This PaymentIntent was not paid.");
        }
        let refunded: i64 = ledger.refunds.iter().filter(|r| r.payment_intent == intent_id).map(|r| r.amount).sum();
        if refunded >= intent.amount {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "charge_already_refunded",
                "Charge has already been refunded.",
            );
        }
        let amount = param("amount").and_then(|a| a.parse().ok()).unwrap_or(intent.amount - refunded);
        if amount <= 0 || refunded + amount > intent.amount {
            let message = format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({})",
                intent.amount - refunded
            );
            return stripe_error(StatusCode::BAD_REQUEST, "amount_too_large", &message);
        }
        let refund =
            Refund { id: ledger.id("re"), payment_intent: intent_id, amount, idempotency_key: key.map(str::to_owned) };
        let body = json!({
            "id": refund.id,
            "object": "refund",
            "amount": refund.amount,
            "currency": intent.currency,
            "created": chrono::Utc::now().timestamp(),
            "payment_intent": refund.payment_intent,
            "status": "succeeded",
            "metadata": {},
        });
        ledger.refunds.push(refund);
        (StatusCode::OK, body)
    })
}

fn missing(id: &str) -> (StatusCode, Value) {
    stripe_error(StatusCode::NOT_FOUND, "resource_missing", &format!("No such payment_intent: '{id}'"))
}

/// A PaymentIntent as Stripe's API shows it: every field async-stripe requires.
fn intent_json(intent: &Intent) -> Value {
    let succeeded = intent.status == "succeeded";
    json!({
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": 0,
        "amount_received": if succeeded { intent.amount } else { 0 },
        "capture_method": "automatic_async",
        "client_secret": intent.client_secret,
        "confirmation_method": "automatic",
        "created": 1_700_000_000,
        "currency": intent.currency,
        "latest_charge": if succeeded { Value::from(intent.id.replacen("pi_", "ch_", 1)) } else { Value::Null },
        "last_payment_error": intent.decline_code.as_ref().map(|code| json!({
            "type": "card_error",
            "code": "card_declined",
            "decline_code": code,
            "message": "Your card was declined.",
        })),
        "livemode": false,
        "metadata": intent.metadata,
        "payment_method_types": ["card"],
        "status": intent.status,
    })
}

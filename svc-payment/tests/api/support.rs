//! Plumbing for the svc-payment tests: the service over a fresh database and event log,
//! the fake Stripe when the story needs it, tokens, shortcuts for what svc-order would
//! publish, and a collector of what svc-payment announces.

use mart_platform::{
    bus::{EventBus, embedded::EmbeddedBus},
    config::Service,
    test_util::{Collector, Running, TestDb, TokenMinter, authed, eventually, publish},
};
use mart_proto::{
    common::Money,
    events::{Envelope, OrderAwaitingPayment, OrderCancelled, envelope::Payload},
    google::api::HttpBody,
    payment::{self as pb, payment_service_client::PaymentServiceClient},
};
use svc_payment::{
    StartError,
    config::{ProviderKind, Settings},
    stripe_fake::{FakeStripe, Webhook},
};
use tonic::{Status, transport::Channel};

/// Which provider the service is configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Manual,
    Stripe,
}

/// svc-payment, running (stopped when dropped).
pub struct TestApp {
    pub service: Running<StartError>,
    pub bus: EventBus,
    pub tokens: TokenMinter,
    /// The fake Stripe, for the Stripe provider.
    pub stripe: Option<FakeStripe>,
    /// Everything svc-payment announced since it started.
    pub announcements: Collector,
    /// The service's database.
    pub db_url: String,
    _db: TestDb,
    _log: TestDb,
}

impl TestApp {
    pub async fn spawn(db: TestDb, provider: Provider) -> Self {
        Self::spawn_with_timeout(db, provider, Settings::default().payment_timeout).await
    }

    /// With unpaid payments expiring after `timeout`.
    pub async fn spawn_with_timeout(db: TestDb, provider: Provider, timeout: std::time::Duration) -> Self {
        Self::spawn_configured(db, provider, |own| own.payment_timeout = timeout).await
    }

    /// With svc-payment's own settings as `configure` leaves them.
    pub async fn spawn_configured(db: TestDb, provider: Provider, configure: impl FnOnce(&mut Settings)) -> Self {
        let log = TestDb::sqlite().await;
        let bus = EventBus::Embedded(EmbeddedBus::open(&log.url, 4).await.unwrap());
        let announcements = Collector::start(&bus, &["mart.payment.events"]).await;
        let tokens = TokenMinter::new();
        let mut config = svc_payment::Config::embedded(Service::Payment);
        config.database_url = db.url.clone();
        configure(&mut config.own);
        let stripe = match provider {
            Provider::Manual => None,
            Provider::Stripe => {
                let fake = FakeStripe::start().await;
                config.own.provider = ProviderKind::Stripe;
                config.own.stripe_secret_key = Some(fake.secret_key());
                config.own.stripe_webhook_secret = Some(fake.webhook_secret());
                config.own.stripe_api_base = Some(fake.base_url());
                Some(fake)
            }
        };
        let (events, keys) = (bus.clone(), tokens.key_set());
        let service = Running::start("svc-payment", |listener, shutdown| {
            svc_payment::serve(config, events, keys, listener, shutdown)
        })
        .await;
        Self { service, bus, tokens, stripe, announcements, db_url: db.url.clone(), _db: db, _log: log }
    }

    /// Stops the service and checks it stopped cleanly.
    pub async fn stop(self) {
        self.service.stop().await;
    }

    pub fn fake(&self) -> &FakeStripe {
        self.stripe.as_ref().expect("a story with the Stripe provider")
    }

    pub fn client(&self) -> PaymentServiceClient<Channel> {
        PaymentServiceClient::new(self.service.channel())
    }

    pub fn admin(&self) -> String {
        self.tokens.admin("admin-1")
    }

    pub fn user(&self, user_id: &str) -> String {
        self.tokens.user(user_id)
    }

    /// svc-order's news that `order_id` of `user_id` awaits `amount_minor` USD.
    pub async fn awaits_payment(&self, order_id: &str, user_id: &str, amount_minor: i64) -> Envelope {
        let awaiting = OrderAwaitingPayment {
            order_id: order_id.into(),
            user_id: user_id.into(),
            total: Some(Money { amount_minor, currency: "USD".into() }),
            payment_due_by: None,
        };
        publish(&self.bus, order_id, Payload::OrderAwaitingPayment(awaiting)).await
    }

    /// The same, with svc-order's deadline for the payment.
    pub async fn awaits_payment_until(
        &self,
        order_id: &str,
        user_id: &str,
        amount_minor: i64,
        due_by: chrono::DateTime<chrono::Utc>,
    ) -> Envelope {
        let awaiting = OrderAwaitingPayment {
            order_id: order_id.into(),
            user_id: user_id.into(),
            total: Some(Money { amount_minor, currency: "USD".into() }),
            payment_due_by: Some(mart_platform::wire::timestamp(&due_by)),
        };
        publish(&self.bus, order_id, Payload::OrderAwaitingPayment(awaiting)).await
    }

    /// svc-order's news that `order_id` of `user_id` was cancelled.
    pub async fn cancelled(&self, order_id: &str, user_id: &str, was_paid: bool) -> Envelope {
        let cancelled = OrderCancelled {
            order_id: order_id.into(),
            user_id: user_id.into(),
            reason: "changed my mind".into(),
            was_paid,
            ..Default::default()
        };
        publish(&self.bus, order_id, Payload::OrderCancelled(cancelled)).await
    }

    /// `order_id`'s payment as `token` sees it.
    pub async fn payment_as(&self, token: &str, order_id: &str) -> Result<pb::Payment, Status> {
        let request = authed(token, pb::GetPaymentRequest { order_id: order_id.into() });
        Ok(self.client().get_payment(request).await?.into_inner().payment.expect("a payment"))
    }

    /// `order_id`'s payment as an admin sees it.
    pub async fn payment(&self, order_id: &str) -> pb::Payment {
        self.payment_as(&self.admin(), order_id).await.expect("the payment")
    }

    /// Waits until `order_id`'s payment is opened (no longer OPENING: payable, or past
    /// that), then returns it.
    pub async fn wait_for_payment(&self, order_id: &str) -> pb::Payment {
        eventually("the payment to be opened", || async {
            self.payment_as(&self.admin(), order_id).await.ok().filter(|p| p.status() != pb::PaymentStatus::Opening)
        })
        .await
    }

    /// Waits until `order_id`'s payment reaches `status`.
    pub async fn wait_for_status(&self, order_id: &str, status: pb::PaymentStatus) -> pb::Payment {
        eventually(&format!("the payment to be {status:?}"), || async {
            self.payment_as(&self.admin(), order_id).await.ok().filter(|p| p.status() == status)
        })
        .await
    }

    pub async fn confirm(&self, token: &str, order_id: &str, reference: &str) -> Result<pb::Payment, Status> {
        let request =
            authed(token, pb::ConfirmManualPaymentRequest { order_id: order_id.into(), reference: reference.into() });
        Ok(self.client().confirm_manual_payment(request).await?.into_inner().payment.expect("a payment"))
    }

    pub async fn refund(&self, order_id: &str, reason: &str) -> Result<pb::Payment, Status> {
        Ok(self.refund_part(order_id, reason, None, &[]).await?.payment.expect("a payment"))
    }

    /// An admin's refund of `amount_minor` USD (all that is left when `None`) for `lines`.
    pub async fn refund_part(
        &self,
        order_id: &str,
        reason: &str,
        amount_minor: Option<i64>,
        lines: &[(&str, i32)],
    ) -> Result<pb::RefundPaymentResponse, Status> {
        let request = pb::RefundPaymentRequest {
            order_id: order_id.into(),
            reason: reason.into(),
            amount: amount_minor.map(|amount_minor| Money { amount_minor, currency: "USD".into() }),
            lines: lines
                .iter()
                .map(|(product_id, quantity)| pb::RefundLine { product_id: (*product_id).into(), quantity: *quantity })
                .collect(),
        };
        Ok(self.client().refund_payment(authed(&self.admin(), request)).await?.into_inner())
    }

    /// POSTs a webhook to StripeWebhook as the edge would: the raw body, and the
    /// signature header (if any) as gRPC metadata.
    pub async fn post_webhook(&self, body: &[u8], signature: Option<&str>) -> Result<(), Status> {
        let body = HttpBody { content_type: "application/json".into(), data: body.to_vec(), extensions: vec![] };
        let mut request = tonic::Request::new(pb::StripeWebhookRequest { body: Some(body) });
        if let Some(signature) = signature {
            request.metadata_mut().insert("stripe-signature", signature.parse().unwrap());
        }
        self.client().stripe_webhook(request).await.map(drop)
    }

    /// Delivers a webhook of the fake Stripe, as signed.
    pub async fn deliver(&self, webhook: &Webhook) -> Result<(), Status> {
        self.post_webhook(&webhook.body, Some(&webhook.signature)).await
    }

    /// Waits until everything svc-payment was told or did about `order_id` so far has been
    /// announced and collected; every announcement so far.
    ///
    /// It sends a marker: an order awaiting payment, published keyed like `order_id` (so it
    /// is handled after every earlier event about `order_id`) with an id whose events share
    /// `order_id`'s partition (so its PaymentCreated is collected after theirs). The marker
    /// is a real order: with Stripe, it has a PaymentIntent of its own. Provider calls are
    /// made after their event, so once the first marker was handled it waits until none of
    /// `order_id`'s calls is still queued, then sends a second marker, whose PaymentCreated
    /// is written after what those calls recorded.
    pub async fn settle(&self, order_id: &str) -> Vec<Envelope> {
        let first = self.marker(order_id).await;
        self.wait_for_event(&first, created).await;
        let db = sea_orm::Database::connect(&self.db_url).await.expect("the service's database");
        eventually("the provider calls to be made", || async {
            use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
            use svc_payment::store::calls;
            let queued = calls::Entity::find()
                .filter(calls::Column::OrderId.eq(order_id))
                .filter(calls::Column::Status.eq(calls::QUEUED))
                .count(&db)
                .await
                .expect("the call queue");
            (queued == 0).then_some(())
        })
        .await;
        let second = self.marker(order_id).await;
        self.wait_for_event(&second, created).await
    }

    /// Publishes a marker order behind `order_id` (see [`Self::settle`]); its id.
    async fn marker(&self, order_id: &str) -> String {
        let EventBus::Embedded(log) = &self.bus else { panic!("the tests run on the embedded bus") };
        let marker = loop {
            let candidate = self::order_id();
            if log.partition_of(&candidate) == log.partition_of(order_id) {
                break candidate;
            }
        };
        let awaiting = OrderAwaitingPayment {
            order_id: marker.clone(),
            user_id: "marker".into(),
            total: Some(Money { amount_minor: 1, currency: "USD".into() }),
            payment_due_by: None,
        };
        publish(&self.bus, order_id, Payload::OrderAwaitingPayment(awaiting)).await;
        marker
    }

    /// Waits until svc-payment announced an event of `kind` about `order_id`; every
    /// announcement so far.
    pub async fn wait_for_event(&self, order_id: &str, kind: fn(&Payload) -> bool) -> Vec<Envelope> {
        self.announcements
            .wait_for("an announcement", |events| {
                events.iter().any(|e| e.aggregate_id == order_id && e.payload.as_ref().is_some_and(kind))
            })
            .await
    }
}

/// How many of `events` about `order_id` are of `kind`.
pub fn count(events: &[Envelope], order_id: &str, kind: fn(&Payload) -> bool) -> usize {
    events.iter().filter(|e| e.aggregate_id == order_id && e.payload.as_ref().is_some_and(kind)).count()
}

pub fn created(payload: &Payload) -> bool {
    matches!(payload, Payload::PaymentCreated(_))
}

pub fn succeeded(payload: &Payload) -> bool {
    matches!(payload, Payload::PaymentSucceeded(_))
}

pub fn failed(payload: &Payload) -> bool {
    matches!(payload, Payload::PaymentFailed(_))
}

pub fn refunded(payload: &Payload) -> bool {
    matches!(payload, Payload::PaymentRefunded(_))
}

/// A fresh order id.
pub fn order_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

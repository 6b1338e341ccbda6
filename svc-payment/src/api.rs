//! The PaymentService gRPC API. Access levels come from the contract (the platform's access
//! layer); GetPayment additionally shows users only the payments of their own orders.
//! StripeWebhook is public: its caller proves itself with the signature, not a token.

use mart_platform::{
    auth::{self, Principal},
    error::reply,
    fields,
    money::Money,
    wire::timestamp,
};
use mart_proto::payment::{self as pb, payment_service_server::PaymentService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{
    commands::Commands,
    domain::{AdminRefund, ManualConfirmation, PaymentStatus, ProviderKind, RefundStatus},
    error::Error,
    provider::stripe::webhook,
    store::{
        payments::{self as store, Model},
        refunds,
    },
};

/// The gRPC metadata the edge forwards Stripe's `Stripe-Signature` header as.
pub const SIGNATURE_METADATA: &str = "stripe-signature";

/// The PaymentService implementation.
pub struct PaymentApi {
    /// What GetPayment reads.
    db: DatabaseConnection,
    /// What the other RPCs change.
    commands: Commands,
    /// `STRIPE_WEBHOOK_SECRET`; webhooks are refused without it.
    webhook_secret: Option<String>,
    /// `MART_STRIPE_PUBLISHABLE_KEY`, returned with Stripe payments.
    publishable_key: Option<String>,
}

impl PaymentApi {
    /// The API reading `db`, changing payments through `commands`, checking webhooks with
    /// `webhook_secret`; a browser mounts Stripe's form with `publishable_key`.
    pub fn new(
        db: DatabaseConnection,
        commands: Commands,
        webhook_secret: Option<String>,
        publishable_key: Option<String>,
    ) -> Self {
        Self { db, commands, webhook_secret, publishable_key }
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn get_payment(
        &self,
        request: Request<pb::GetPaymentRequest>,
    ) -> Result<Response<pb::GetPaymentResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let order_id = fields::id("order_id", &request.order_id)?;
                let payment = store::by_order(&self.db, &order_id).await?.ok_or(Error::NotFound)?;
                // Another user's order is answered exactly like an order that does not exist.
                if !me.may_access(&payment.user_id) {
                    return Err(Error::NotFound);
                }
                // The refunds' story (who asked, why it failed) is the shop's, not the customer's.
                let refunds = if me.is_admin() { refunds::of(&self.db, &payment.id).await? } else { Vec::new() };
                let payment = to_proto(&payment, &refunds);
                // What the browser needs beside the client secret to show Stripe's form.
                let publishable_key = match &self.publishable_key {
                    Some(key) if payment.provider() == pb::PaymentProvider::Stripe => key.clone(),
                    _ => String::new(),
                };
                Ok(pb::GetPaymentResponse { payment: Some(payment), publishable_key })
            }
            .await,
        )
    }

    async fn confirm_manual_payment(
        &self,
        request: Request<pb::ConfirmManualPaymentRequest>,
    ) -> Result<Response<pb::ConfirmManualPaymentResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let confirmation =
                    ManualConfirmation::parse(&request.order_id, &request.reference).map_err(Error::Invalid)?;
                let payment = self.commands.confirm_manual(&confirmation, &actor(&me)).await?;
                Ok(pb::ConfirmManualPaymentResponse { payment: Some(to_proto(&payment, &[])) })
            }
            .await,
        )
    }

    async fn refund_payment(
        &self,
        request: Request<pb::RefundPaymentRequest>,
    ) -> Result<Response<pb::RefundPaymentResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let lines: Vec<_> = request.lines.iter().map(|line| (line.product_id.clone(), line.quantity)).collect();
                let refund = AdminRefund::parse(&request.order_id, &request.reason, request.amount.as_ref(), &lines)
                    .map_err(Error::Invalid)?;
                let done = self.commands.refund(&refund, &actor(&me)).await?;
                let refunds = refunds::of(&self.db, &done.payment.id).await?;
                Ok(pb::RefundPaymentResponse {
                    payment: Some(to_proto(&done.payment, &refunds)),
                    refund: Some(refund_to_proto(&done.refund)),
                })
            }
            .await,
        )
    }

    async fn stripe_webhook(
        &self,
        request: Request<pb::StripeWebhookRequest>,
    ) -> Result<Response<pb::StripeWebhookResponse>, Status> {
        let signature = request.metadata().get(SIGNATURE_METADATA).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = request.into_inner().body.map(|body| body.data).unwrap_or_default();
        reply::<_, Error>(
            async {
                let secret = self.webhook_secret.as_deref().ok_or(Error::WebhookNotConfigured)?;
                // Checked over the bytes as received, before anything reads them.
                webhook::verify(secret, signature.as_deref(), &body, chrono::Utc::now().timestamp())?;
                let event = webhook::parse(&body).map_err(Error::Body)?;
                self.commands.stripe_event(&event).await?;
                Ok(pb::StripeWebhookResponse {})
            }
            .await,
        )
    }
}

fn actor(me: &Principal) -> String {
    format!("admin:{}", me.user_id)
}

fn to_proto(payment: &Model, refunds: &[refunds::Model]) -> pb::Payment {
    let status = payment.status();
    let pending = status == Some(PaymentStatus::Pending);
    pb::Payment {
        id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        user_id: payment.user_id.clone(),
        provider: match payment.provider() {
            Some(ProviderKind::Manual) => pb::PaymentProvider::Manual,
            Some(ProviderKind::Stripe) => pb::PaymentProvider::Stripe,
            None => pb::PaymentProvider::Unspecified,
        }
        .into(),
        status: match status {
            Some(PaymentStatus::Opening) => pb::PaymentStatus::Opening,
            Some(PaymentStatus::Pending) => pb::PaymentStatus::Pending,
            Some(PaymentStatus::Succeeded) => pb::PaymentStatus::Succeeded,
            Some(PaymentStatus::Failed) => pb::PaymentStatus::Failed,
            Some(PaymentStatus::Cancelled) => pb::PaymentStatus::Cancelled,
            Some(PaymentStatus::Refunded) => pb::PaymentStatus::Refunded,
            None => pb::PaymentStatus::Unspecified,
        }
        .into(),
        // A stored currency the shop does not know is a bug; the rest of the payment still shows.
        amount: payment.amount().ok().map(Money::to_wire),
        // Only while it can still be paid: a secret for a finished payment is of no use
        // to anyone and one more thing to leak.
        client_secret: if pending { payment.client_secret.clone().unwrap_or_default() } else { String::new() },
        checkout_url: String::new(),
        provider_reference: payment.provider_reference.clone().unwrap_or_default(),
        status_reason: payment.status_reason.clone().unwrap_or_default(),
        created_at: Some(timestamp(&payment.created_at)),
        updated_at: Some(timestamp(&payment.updated_at)),
        expires_at: if pending { payment.expires_at.as_ref().map(timestamp) } else { None },
        refunded: payment.refunded().ok().map(Money::to_wire),
        refunds: refunds.iter().map(refund_to_proto).collect(),
    }
}

fn refund_to_proto(refund: &refunds::Model) -> pb::Refund {
    pb::Refund {
        id: refund.id.clone(),
        amount: Money::from_stored(refund.amount_minor, &refund.currency).ok().map(Money::to_wire),
        status: match refund.status() {
            Some(RefundStatus::Pending) => pb::RefundStatus::Pending,
            Some(RefundStatus::Succeeded) => pb::RefundStatus::Succeeded,
            Some(RefundStatus::Failed) => pb::RefundStatus::Failed,
            None => pb::RefundStatus::Unspecified,
        }
        .into(),
        reason: refund.reason.clone().unwrap_or_default(),
        lines: refund
            .lines()
            .into_iter()
            .map(|line| pb::RefundLine { product_id: line.product_id, quantity: line.quantity })
            .collect(),
        provider_reference: refund.provider_refund_id.clone().unwrap_or_default(),
        requested_by: refund.requested_by.clone(),
        failure_reason: refund.failure_reason.clone().unwrap_or_default(),
        created_at: Some(timestamp(&refund.created_at)),
    }
}

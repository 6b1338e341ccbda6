//! Plumbing for the svc-notify tests: the service on a free port over a fresh database, an
//! embedded event log, a real SMTP sink, tokens, and shortcuts for publishing what the user,
//! order and payment services would. Assertions stay in the tests.

pub use mart_platform::test_util::{authed, bad_fields, eventually, smtp::Mail};
use mart_platform::{
    bus::{EventBus, embedded::EmbeddedBus},
    config::Service,
    test_util::{Running, TestDb, TokenMinter, publish, smtp::SmtpSink},
};
use mart_proto::{
    common::Money,
    events::{Envelope, UserRegistered, envelope::Payload},
    notify::{self as pb, notification_service_client::NotificationServiceClient},
};
use sea_orm::DatabaseConnection;
use svc_notify::{
    StartError,
    store::{deliveries, notifications},
};
use tonic::transport::Channel;

/// A running svc-notify.
pub struct TestApp {
    pub bus: EventBus,
    pub tokens: TokenMinter,
    /// The mail server it sends to (also there when SMTP is not configured, to show that
    /// nothing arrives).
    pub smtp: SmtpSink,
    /// What it was started with, for replicas.
    config: svc_notify::Config,
    service: Running<StartError>,
    /// Further instances over the same database and bus.
    replicas: Vec<Running<StartError>>,
    db: TestDb,
    _log: TestDb,
}

impl TestApp {
    /// svc-notify sending email to a fresh SMTP sink.
    pub async fn spawn(db: TestDb) -> Self {
        Self::start(db, true).await
    }

    /// svc-notify with no `SMTP_URL`.
    pub async fn spawn_without_mail(db: TestDb) -> Self {
        Self::start(db, false).await
    }

    async fn start(db: TestDb, mail: bool) -> Self {
        let log = TestDb::sqlite().await;
        let bus = EventBus::Embedded(EmbeddedBus::open(&log.url, 4).await.unwrap());
        let tokens = TokenMinter::new();
        let smtp = SmtpSink::start().await;
        let mut config = svc_notify::Config::embedded(Service::Notify);
        config.database_url = db.url.clone();
        config.own.smtp_url = mail.then(|| smtp.url());
        config.own.mail_from = "Online Mart <shop@mart.test>".to_owned();
        let service = instance(&config, &bus, &tokens).await;
        Self { bus, tokens, smtp, config, service, replicas: vec![], db, _log: log }
    }

    /// Starts another instance over the same database, bus and mail server, as a replica:
    /// it shares the consumer group and the delivery queue.
    pub async fn add_replica(&mut self) {
        let replica = instance(&self.config, &self.bus, &self.tokens).await;
        self.replicas.push(replica);
    }

    /// Stops the service (replicas first) and waits for it to finish cleanly.
    pub async fn stop(self) {
        for replica in self.replicas {
            replica.stop().await;
        }
        self.service.stop().await;
    }

    pub fn client(&self) -> NotificationServiceClient<Channel> {
        NotificationServiceClient::new(self.service.channel())
    }

    /// A direct connection to the service's database, to look at its delivery queue.
    pub async fn database(&self) -> DatabaseConnection {
        mart_platform::db::connect(&self.db.url).await.unwrap()
    }

    /// Publishes one event as its service would; the envelope.
    pub async fn publish(&self, aggregate_id: &str, payload: Payload) -> Envelope {
        publish(&self.bus, aggregate_id, payload).await
    }

    /// A new customer as svc-user announces it; their id.
    pub async fn register(&self, email: &str, first_name: &str, phone: Option<&str>) -> String {
        let user_id = uuid::Uuid::now_v7().to_string();
        self.register_as(&user_id, email, first_name, phone).await;
        user_id
    }

    pub async fn register_as(&self, user_id: &str, email: &str, first_name: &str, phone: Option<&str>) -> Envelope {
        let registered = UserRegistered {
            user_id: user_id.to_owned(),
            email: email.to_owned(),
            first_name: first_name.to_owned(),
            last_name: "Lovelace".to_owned(),
            phone: phone.map(ToOwned::to_owned),
        };
        self.publish(user_id, Payload::UserRegistered(registered)).await
    }

    /// One page of `user_id`'s inbox.
    pub async fn page(&self, user_id: &str, request: pb::ListNotificationsRequest) -> pb::ListNotificationsResponse {
        let request = authed(&self.tokens.user(user_id), request);
        self.client().list_notifications(request).await.unwrap().into_inner()
    }

    /// `user_id`'s whole inbox, newest first.
    pub async fn inbox(&self, user_id: &str) -> Vec<pb::Notification> {
        self.page(user_id, pb::ListNotificationsRequest { page_size: 100, ..Default::default() }).await.notifications
    }

    /// The ids of `user_id`'s inbox (unread ones only if asked), walked page by page of
    /// `page_size` with the tokens the service hands out.
    pub async fn walk_inbox(&self, user_id: &str, unread_only: bool, page_size: i32) -> Vec<String> {
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = pb::ListNotificationsRequest { page_size, page_token, unread_only };
            let page = self.page(user_id, request).await;
            ids.extend(page.notifications.into_iter().map(|n| n.id));
            if page.next_page_token.is_empty() {
                return ids;
            }
            page_token = page.next_page_token;
        }
    }

    /// Waits until `user_id`'s inbox holds at least `count` notifications; the inbox.
    pub async fn wait_inbox(&self, user_id: &str, count: usize) -> Vec<pb::Notification> {
        eventually(&format!("{count} notifications"), || async {
            let inbox = self.inbox(user_id).await;
            (inbox.len() >= count).then_some(inbox)
        })
        .await
    }

    /// The outgoing messages of notification `notification_id`, as stored.
    pub async fn deliveries(&self, notification_id: &str) -> Vec<deliveries::Model> {
        deliveries::of_notification(&self.database().await, notification_id).await.unwrap()
    }

    /// The notification stored for event `event_id`.
    pub async fn notification_of(&self, event_id: &str) -> Option<notifications::Model> {
        notifications::by_source(&self.database().await, event_id).await.unwrap()
    }
}

/// svc-notify with `config` on `bus`, trusting `tokens`, serving on a free port.
async fn instance(config: &svc_notify::Config, bus: &EventBus, tokens: &TokenMinter) -> Running<StartError> {
    let (config, bus, keys) = (config.clone(), bus.clone(), tokens.key_set());
    Running::start("svc-notify", |listener, shutdown| svc_notify::serve(config, bus, keys, listener, shutdown)).await
}

pub fn eur(amount_minor: i64) -> Option<Money> {
    Some(Money { amount_minor, currency: "EUR".to_owned() })
}

/// The mails of `mails` with `subject`.
pub fn with_subject<'a>(mails: &'a [Mail], subject: &str) -> Vec<&'a Mail> {
    mails.iter().filter(|mail| mail.subject().as_deref() == Some(subject)).collect()
}

/// The kinds of `notifications`, in order.
pub fn kinds(notifications: &[pb::Notification]) -> Vec<pb::NotificationKind> {
    notifications.iter().map(|n| n.kind()).collect()
}

//! Plumbing for the svc-notify tests: the service on a free port over a fresh database, an
//! embedded event log, a real SMTP sink, tokens, and shortcuts for publishing what the user,
//! order and payment services would. Assertions stay in the tests.

use std::net::SocketAddr;

pub use mart_platform::test_util::{authed, bad_fields, eventually, smtp::Mail};
use mart_platform::{
    bus::{EventBus, embedded::EmbeddedBus},
    config::{Config, Service},
    test_util::{TestDb, TokenMinter, listener, publish, smtp::SmtpSink, wait_until_serving},
};
use mart_proto::{
    common::Money,
    events::{Envelope, UserRegistered, envelope::Payload},
    notify::{self as pb, notification_service_client::NotificationServiceClient},
};
use sea_orm::DatabaseConnection;
use svc_notify::store::{deliveries, notifications};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

/// One running instance: its stop signal and its task.
type Instance = (oneshot::Sender<()>, JoinHandle<Result<(), svc_notify::StartError>>);

/// A running svc-notify.
pub struct TestApp {
    pub addr: SocketAddr,
    pub bus: EventBus,
    pub tokens: TokenMinter,
    /// The mail server it sends to (also there when SMTP is not configured, to show that
    /// nothing arrives).
    pub smtp: SmtpSink,
    /// What it was started with, for replicas.
    config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), svc_notify::StartError>>>,
    /// Further instances over the same database and bus.
    replicas: Vec<Instance>,
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
        let mut config = Config::embedded(Service::Notify);
        config.database_url = db.url.clone();
        config.mail.smtp_url = mail.then(|| smtp.url());
        config.mail.mail_from = "Online Mart <shop@mart.test>".to_owned();
        let listener = listener().await;
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(svc_notify::serve(config.clone(), bus.clone(), tokens.key_set(), listener, async {
            let _ = rx.await;
        }));
        wait_until_serving(addr).await;
        Self { addr, bus, tokens, smtp, config, shutdown: Some(tx), task: Some(task), replicas: vec![], db, _log: log }
    }

    /// Starts another instance over the same database, bus and mail server, as a replica:
    /// it shares the consumer group and the delivery queue.
    pub async fn add_replica(&mut self) {
        let listener = listener().await;
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(svc_notify::serve(
            self.config.clone(),
            self.bus.clone(),
            self.tokens.key_set(),
            listener,
            async {
                let _ = rx.await;
            },
        ));
        wait_until_serving(addr).await;
        self.replicas.push((tx, task));
    }

    /// Stops the service and waits for it to finish cleanly.
    pub async fn stop(mut self) {
        for (tx, task) in self.replicas.drain(..) {
            let _ = tx.send(());
            task.await.unwrap().expect("a replica stopped cleanly");
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().expect("svc-notify stopped cleanly");
        }
    }

    pub fn client(&self) -> NotificationServiceClient<Channel> {
        NotificationServiceClient::new(Channel::from_shared(format!("http://{}", self.addr)).unwrap().connect_lazy())
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

impl Drop for TestApp {
    fn drop(&mut self) {
        for (tx, _) in self.replicas.drain(..) {
            let _ = tx.send(());
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
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

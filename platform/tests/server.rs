//! The platform's gRPC server with a real service behind it: the access check from the
//! contract, the principal handed to handlers, and a graceful drain (health flips, the call
//! in flight finishes, then the server stops).

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use mart_platform::{
    auth::{self, Claims, KeySet, PublicKey, Role, Verifier, jwt},
    server::GrpcServer,
    test_util::{eventually, listener},
};
use mart_proto::notify::{
    self as pb,
    notification_service_client::NotificationServiceClient,
    notification_service_server::{NotificationService, NotificationServiceServer},
};
use tokio::sync::{Notify, mpsc, oneshot};
use tonic::{Code, Request, Response, Status, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

/// A NotificationService whose ListNotifications reports that it started and then waits
/// to be released: a call we can hold in flight.
struct Held {
    entered: mpsc::UnboundedSender<()>,
    release: Arc<Notify>,
}

#[tonic::async_trait]
impl NotificationService for Held {
    async fn list_notifications(
        &self,
        request: Request<pb::ListNotificationsRequest>,
    ) -> Result<Response<pb::ListNotificationsResponse>, Status> {
        let me = auth::principal(&request)?;
        let _ = self.entered.send(());
        self.release.notified().await;
        // Echo who the access layer said is calling.
        Ok(Response::new(pb::ListNotificationsResponse { next_page_token: me.user_id, ..Default::default() }))
    }

    async fn mark_notification_read(
        &self,
        _request: Request<pb::MarkNotificationReadRequest>,
    ) -> Result<Response<pb::MarkNotificationReadResponse>, Status> {
        Err(Status::not_found("no notifications here"))
    }

    async fn get_events_status(
        &self,
        _request: Request<pb::GetEventsStatusRequest>,
    ) -> Result<Response<pb::GetEventsStatusResponse>, Status> {
        Err(Status::unimplemented("no bus here"))
    }

    async fn send_notification(
        &self,
        request: Request<pb::SendNotificationRequest>,
    ) -> Result<Response<pb::SendNotificationResponse>, Status> {
        let me = auth::principal(&request)?;
        assert!(me.is_admin(), "the access layer let a non-admin through");
        Ok(Response::new(pb::SendNotificationResponse::default()))
    }
}

fn token(key: &SigningKey, user: &str, role: Role) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: user.into(),
        role,
        iss: "mart".into(),
        aud: "mart".into(),
        exp: now + 60,
        iat: now,
        jti: format!("{user}-token"),
        sid: format!("{user}-session"),
    };
    jwt::sign(&claims, "k1", key)
}

fn authed<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_is_checked_from_the_contract_and_shutdown_drains() {
    let key = SigningKey::from_bytes(&[42; 32]);
    let keys = KeySet::fixed(vec![PublicKey { kid: "k1".into(), key: key.verifying_key() }]);
    let verifier = Arc::new(Verifier::new(Arc::new(keys), "mart", "mart"));
    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let service = Held { entered: entered_tx, release: release.clone() };

    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        GrpcServer::new(mart_platform::config::Service::Notify, verifier)
            .add_service(NotificationServiceServer::new(service))
            .serve(listener, async move {
                let _ = stopped.await;
            }),
    );
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = NotificationServiceClient::new(channel.clone());
    let mut health = HealthClient::new(channel.clone());

    // USER method: no token, then a bad one, are refused before the handler runs.
    let none = client.list_notifications(pb::ListNotificationsRequest::default()).await.unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated);
    let forged = token(&SigningKey::from_bytes(&[1; 32]), "ada", Role::User);
    let bad = client.list_notifications(authed(&forged, pb::ListNotificationsRequest::default())).await.unwrap_err();
    assert_eq!(bad.code(), Code::Unauthenticated);
    // ADMIN method with a customer's token.
    let customer = token(&key, "ada", Role::User);
    let denied = client.send_notification(authed(&customer, pb::SendNotificationRequest::default())).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    client
        .send_notification(authed(&token(&key, "root", Role::Admin), pb::SendNotificationRequest::default()))
        .await
        .unwrap();

    // Hold a call in flight, then ask the server to stop.
    let mut in_flight_client = client.clone();
    let in_flight = tokio::spawn(async move {
        in_flight_client.list_notifications(authed(&customer, pb::ListNotificationsRequest::default())).await
    });
    entered.recv().await.unwrap();
    let status = health.check(HealthCheckRequest { service: "mart.notify.v1.NotificationService".into() }).await;
    assert_eq!(status.unwrap().into_inner().status(), ServingStatus::Serving);
    stop.send(()).unwrap();

    eventually("health to flip to NOT_SERVING", || {
        let mut health = health.clone();
        async move {
            let status = health.check(HealthCheckRequest { service: String::new() }).await.ok()?;
            (status.into_inner().status() == ServingStatus::NotServing).then_some(())
        }
    })
    .await;
    assert!(!server.is_finished(), "the server stopped with a call in flight");

    release.notify_one();
    let answer = in_flight.await.unwrap().expect("the in-flight call finishes").into_inner();
    assert_eq!(answer.next_page_token, "ada", "the handler saw the caller's principal");
    server.await.unwrap().expect("the server stops cleanly");
}

/// A background task that panics is not a silent death: health says NOT_SERVING (what the
/// k8s readiness probe and the edge's `/readyz` ask), while the calls still answer and a
/// healthy sibling loop keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_background_task_makes_the_service_not_serving() {
    use std::sync::atomic::{AtomicU32, Ordering};

    use mart_platform::tasks::{Background, Every, Round};

    let key = SigningKey::from_bytes(&[42; 32]);
    let keys = KeySet::fixed(vec![PublicKey { kid: "k1".into(), key: key.verifying_key() }]);
    let verifier = Arc::new(Verifier::new(Arc::new(keys), "mart", "mart"));
    let (entered, _entered) = mpsc::unbounded_channel();
    let service = Held { entered, release: Arc::new(Notify::new()) };

    let mut background = Background::new(mart_platform::config::Service::Notify);
    let healthy = Arc::new(AtomicU32::new(0));
    let rounds = healthy.clone();
    background.every("steady", Every::new(std::time::Duration::from_millis(20)), move |_| {
        rounds.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, std::convert::Infallible>(Round::Idle) }
    });
    let go = Arc::new(Notify::new());
    let trigger = go.clone();
    background.every("doomed", Every::new(std::time::Duration::from_millis(20)), move |_| {
        let trigger = trigger.clone();
        async move {
            trigger.notified().await;
            panic!("a bug in a background loop");
            #[allow(unreachable_code)]
            Ok::<_, std::convert::Infallible>(Round::Idle)
        }
    });
    let dead = background.dead();

    let listener = listener().await;
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        GrpcServer::new(mart_platform::config::Service::Notify, verifier)
            .add_service(NotificationServiceServer::new(service))
            .serve_then_stop(
                listener,
                async move {
                    let _ = stopped.await;
                },
                background,
            ),
    );
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect_lazy();
    let mut health = HealthClient::new(channel.clone());
    let status = |mut health: HealthClient<Channel>| async move {
        health.check(HealthCheckRequest { service: String::new() }).await.map(|r| r.into_inner().status())
    };
    eventually("serving", || async {
        (status(health.clone()).await.ok() == Some(ServingStatus::Serving)).then_some(())
    })
    .await;
    assert!(dead.borrow().is_none());

    go.notify_one();
    eventually("NOT_SERVING after the panic", || async {
        (status(health.clone()).await.ok() == Some(ServingStatus::NotServing)).then_some(())
    })
    .await;
    assert_eq!(dead.borrow().as_deref(), Some("doomed"));
    let before = healthy.load(Ordering::SeqCst);
    eventually("the other loop goes on", || async { (healthy.load(Ordering::SeqCst) > before + 2).then_some(()) })
        .await;
    let answer = health.check(HealthCheckRequest { service: "mart.notify.v1.NotificationService".into() }).await;
    assert_eq!(answer.unwrap().into_inner().status(), ServingStatus::NotServing);

    let _ = stop.send(());
    server.await.unwrap().expect("stops cleanly");
}

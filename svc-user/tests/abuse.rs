//! Sign-in storms against a real svc-user process: memory stays within its budget however
//! many logins arrive at once, every answer is one a client can act on, and guessing a
//! password is slowed down the same way for accounts that exist and emails that do not.
//! Bounded: a few hundred requests over loopback, and the process is killed at the end.

use std::{net::SocketAddr, time::Duration};

use mart_platform::test_util::{TestDb, reason, wait_until_serving};
use mart_proto::user::{self as pb, user_service_client::UserServiceClient};
use tonic::{Code, transport::Channel};

/// svc-user's own process on loopback, with a data dir of its own.
struct Process {
    child: tokio::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Process {
    async fn start(db: &TestDb) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_svc-user"))
            .env("MART_GRPC_ADDR", addr.to_string())
            .env("MART_DATA_DIR", dir.path())
            .env("DATABASE_URL", &db.url)
            .env("RUST_LOG", "warn")
            .env_remove("MART_BOOTSTRAP_ADMIN_EMAIL")
            .env_remove("MART_PASSWORD_HASH_CONCURRENCY")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(30), wait_until_serving(addr)).await.expect("svc-user serves");
        Self { child, addr, _dir: dir }
    }

    async fn client(&self) -> UserServiceClient<Channel> {
        UserServiceClient::connect(format!("http://{}", self.addr)).await.unwrap()
    }

    /// The most memory the process has held (kB), from the kernel's own account.
    fn peak_rss_kb(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|line| line.starts_with("VmHWM:")).expect("VmHWM");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

const PASSWORD: &str = "correct horse battery";

async fn register(client: &mut UserServiceClient<Channel>, email: &str) {
    client
        .register(pb::RegisterRequest {
            email: email.into(),
            password: PASSWORD.into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            phone: None,
        })
        .await
        .expect("register");
}

fn login(email: &str, password: &str) -> pb::LoginRequest {
    pb::LoginRequest { email: email.into(), password: password.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_parallel_logins_stay_within_the_memory_budget() {
    let db = TestDb::sqlite().await;
    let process = Process::start(&db).await;
    let mut client = process.client().await;
    register(&mut client, "ada@example.com").await;
    let before_mb = process.peak_rss_kb() / 1024;

    // 160 right passwords and 40 unknown emails (the decoy hash) at once.
    let storm: Vec<_> = (0..200)
        .map(|n| {
            let mut client = client.clone();
            let email = if n % 5 == 0 { format!("nobody{n}@example.com") } else { "ada@example.com".to_owned() };
            tokio::spawn(async move { client.login(login(&email, PASSWORD)).await.map(|_| ()).map_err(|s| s.code()) })
        })
        .collect();
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for task in storm {
        let code = match task.await.unwrap() {
            Ok(()) => Code::Ok,
            Err(code) => code,
        };
        assert!(
            matches!(code, Code::Ok | Code::Unauthenticated | Code::ResourceExhausted | Code::Unavailable),
            "{code:?} is not an answer a client can act on"
        );
        *answers.entry(format!("{code:?}")).or_default() += 1;
    }
    assert!(answers.get("Ok").copied().unwrap_or(0) > 0, "some logins get through: {answers:?}");

    let peak_mb = process.peak_rss_kb() / 1024;
    eprintln!("svc-user peak RSS {peak_mb} MB (from {before_mb} MB) under 200 parallel logins: {answers:?}");
    assert!(
        peak_mb < 200,
        "svc-user peaked at {peak_mb} MB under 200 parallel logins, from {before_mb} MB ({answers:?})"
    );

    client.login(login("ada@example.com", PASSWORD)).await.expect("a correct login right after the storm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_throttled_alike_for_accounts_and_unknown_emails() {
    let db = TestDb::sqlite().await;
    let process = Process::start(&db).await;
    let mut client = process.client().await;
    register(&mut client, "ada@example.com").await;

    for email in ["ada@example.com", "nobody@example.com"] {
        let mut codes = Vec::new();
        for _ in 0..8 {
            let status = client.login(login(email, "wrong password!")).await.unwrap_err();
            codes.push((status.code(), reason(&status)));
        }
        assert!(codes[..5].iter().all(|(code, _)| *code == Code::Unauthenticated), "{email}: {codes:?}");
        let throttled = codes.iter().filter(|(_, reason)| reason == "TOO_MANY_FAILED_LOGINS").count();
        assert!(throttled >= 1, "{email}: guessing is slowed down: {codes:?}");
        assert!(codes.iter().all(|(code, _)| matches!(code, Code::Unauthenticated | Code::ResourceExhausted)));
        // While the door is closed the right password waits too: no oracle.
        let status = client.login(login(email, PASSWORD)).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{email}");
    }
    let mut other = process.client().await;
    register(&mut other, "bob@example.com").await;
    other.login(login("bob@example.com", PASSWORD)).await.expect("another account signs in");
}

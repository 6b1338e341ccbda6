//! What is kept only for a while goes when its time is up: the embedded log's records (and
//! the personal data in them), and the inbox's memory of handled events. Offsets and what
//! is younger stay.

use std::time::Duration;

use mart_platform::{
    bus::{Record, embedded::EmbeddedBus, inbox},
    test_util::TestDb,
};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

struct InboxOnly;

impl MigratorTrait for InboxOnly {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(inbox::Migration)]
    }
}

fn record(n: u32) -> Record {
    Record {
        topic: "mart.user.events".into(),
        key: "u-1".into(),
        payload: format!("ada{n}@example.com").into_bytes(),
        headers: vec![],
    }
}

#[tokio::test]
async fn the_log_and_the_inbox_forget_what_is_older_than_the_retention() {
    let log_db = TestDb::sqlite().await;
    let log = EmbeddedBus::open(&log_db.url, 1).await.unwrap();
    log.append(&[record(1), record(2)]).await.unwrap();
    assert_eq!(log.prune(Duration::from_secs(3600)).await.unwrap(), 0, "younger than the retention: kept");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(log.prune(Duration::from_millis(10)).await.unwrap(), 2);
    assert!(log.read("mart.user.events", None, 0, 10).await.unwrap().is_empty(), "the emails are gone");
    log.append(&[record(3)]).await.unwrap();
    let kept = log.read("mart.user.events", None, 0, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].offset > 2, "offsets go on from where they were: {}", kept[0].offset);

    let service_db = TestDb::sqlite().await;
    let db = mart_platform::db::connect_and_migrate::<InboxOnly>(&service_db.url).await.unwrap();
    assert!(inbox::record(&db, "g", "e-1").await.unwrap());
    assert_eq!(inbox::prune(&db, Duration::from_secs(3600)).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(inbox::prune(&db, Duration::from_millis(10)).await.unwrap(), 1);
    assert!(inbox::record(&db, "g", "e-1").await.unwrap(), "forgotten: it would count as new");
}

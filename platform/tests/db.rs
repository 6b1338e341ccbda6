//! The database mechanisms every service's store uses, on both engines: recording a row
//! once under races, locking a row for the rest of a transaction, and page token keys that
//! survive restarts.

use mart_platform::{
    db, paging,
    test_util::{Backend, TestDb},
};
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod seen {
    //! A table of seen event ids, as a service's store keeps one.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "seen")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub note: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(mart_platform::outbox::Migration), Box::new(paging::Migration)]
    }
}

async fn open(backend: Backend) -> (TestDb, sea_orm::DatabaseConnection) {
    let test_db = TestDb::new(backend).await;
    let conn = db::connect_and_migrate::<Migrator>(&test_db.url).await.unwrap();
    conn.execute_unprepared("CREATE TABLE seen (event_id VARCHAR PRIMARY KEY, note VARCHAR NOT NULL)").await.unwrap();
    (test_db, conn)
}

fn row(event_id: &str, note: &str) -> seen::ActiveModel {
    seen::ActiveModel { event_id: Set(event_id.to_owned()), note: Set(note.to_owned()) }
}

async fn inserts_once_and_locks(backend: Backend) {
    let (_test_db, conn) = open(backend).await;
    assert!(db::insert_once(&conn, row("e1", "first"), [seen::Column::EventId]).await.unwrap());
    assert!(!db::insert_once(&conn, row("e1", "second"), [seen::Column::EventId]).await.unwrap());
    let kept = seen::Entity::find_by_id("e1".to_owned()).one(&conn).await.unwrap().unwrap();
    assert_eq!(kept.note, "first", "the second insert changed nothing");

    // Ten racing "first sightings": exactly one wins.
    let racers = (0..10).map(|n| {
        let conn = conn.clone();
        tokio::spawn(async move {
            let txn = db::begin_write(&conn).await.unwrap();
            let won = db::insert_once(&*txn, row("e2", &format!("racer {n}")), [seen::Column::EventId]).await.unwrap();
            txn.commit().await.unwrap();
            won
        })
    });
    let wins = futures::future::join_all(racers).await.into_iter().filter(|won| *won.as_ref().unwrap()).count();
    assert_eq!(wins, 1);

    let txn = db::begin_write(&conn).await.unwrap();
    assert!(db::lock_row::<seen::Entity, _>(&txn, seen::Column::EventId, "e1").await.unwrap());
    assert!(!db::lock_row::<seen::Entity, _>(&txn, seen::Column::EventId, "nope").await.unwrap());
    txn.commit().await.unwrap();
    let kept = seen::Entity::find_by_id("e1".to_owned()).one(&conn).await.unwrap().unwrap();
    assert_eq!(kept.note, "first", "a lock changes nothing");
}

async fn page_token_keys_persist(backend: Backend) {
    let (_test_db, conn) = open(backend).await;
    let first = paging::PageTokens::load(&conn).await.unwrap();
    let token = first.issue(paging::fingerprint("ListThings", &"all"), &("after", 7));
    // A restart, or another replica: the same key.
    let again = paging::PageTokens::load(&conn).await.unwrap();
    let cursor: Option<(String, i64)> = again.read(&token, paging::fingerprint("ListThings", &"all")).unwrap();
    assert_eq!(cursor, Some(("after".to_owned(), 7)));
    let other = again.read::<(String, i64)>(&token, paging::fingerprint("ListThings", &"some"));
    assert_eq!(other.unwrap_err().field, "page_token");
}

#[tokio::test]
async fn sqlite_inserts_once_and_locks() {
    inserts_once_and_locks(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_inserts_once_and_locks() {
    inserts_once_and_locks(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_page_token_keys_persist() {
    page_token_keys_persist(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_page_token_keys_persist() {
    page_token_keys_persist(Backend::Postgres).await;
}

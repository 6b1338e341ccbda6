//! The service's own database: PostgreSQL in production, a SQLite file embedded.
//!
//! [`connect`] opens the pool with settings that suit each backend; [`connect_and_migrate`]
//! also brings the schema up to date with the service's `sea-orm-migration` migrator.
//!
//! **`begin` or `begin_write`.** A transaction that may write anything (a row, an outbox
//! event, an inbox row) starts with [`begin_write`]: every command does. [`begin`] is for
//! a transaction that only reads (a consistent snapshot of several queries). On SQLite the
//! difference matters: a reading transaction that starts writing halfway fails when
//! another writer committed in between; see [`begin_write`].
//!
//! **Idempotent inserts and row locks.** "Record this once" is [`insert_once`] (a unique
//! key and `ON CONFLICT DO NOTHING`, never check-then-insert), and "nobody changes this
//! row until I commit" is [`lock_row`] (a write that changes nothing, which takes the
//! row's lock on PostgreSQL and the writer's lock on SQLite alike).

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, ExecResult, QueryFilter, QueryResult, Statement, TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use sea_orm_migration::{MigratorTrait, async_trait};
use tracing::Instrument as _;

/// Opens a pool to `url` (`postgres://…` or `sqlite://…`). For SQLite the file and its
/// directory are created when missing, and the connection runs in WAL mode with a busy
/// timeout so concurrent writers queue instead of failing.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).acquire_timeout(Duration::from_secs(10));

    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_file(url).and_then(|path| std::path::Path::new(path).parent().map(ToOwned::to_owned))
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(&dir).map_err(|e| DbErr::Custom(format!("creating {}: {e}", dir.display())))?;
        }
        options.max_connections(8).min_connections(1).map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    } else {
        options.max_connections(16).min_connections(1);
    }
    Database::connect(options).await
}

/// The moment `retention` ago: rows older than it are pruned. A retention too long to
/// subtract keeps everything.
pub fn cutoff(retention: Duration) -> chrono::DateTime<chrono::Utc> {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    chrono::Utc::now().checked_sub_signed(retention).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}

/// [`connect`], then runs every pending migration of `M`.
pub async fn connect_and_migrate<M: MigratorTrait>(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    M::up(&db, None).await?;
    Ok(db)
}

/// The file path inside a `sqlite://path?query` URL, if it names a file.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// A database transaction with its `db.transaction` span, which lasts from begin to commit
/// or rollback (a child of the call or event it serves). It is used as the transaction it
/// wraps: passed as `&txn` where a `&DatabaseTransaction` or any `ConnectionTrait` goes.
pub struct Transaction {
    txn: DatabaseTransaction,
    span: tracing::Span,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl Transaction {
    /// Commits; the span ends with it (marked failed if the commit fails).
    pub async fn commit(self) -> Result<(), DbErr> {
        let Self { txn, span } = self;
        let committed = txn.commit().instrument(span.clone()).await;
        span.record("db.outcome", if committed.is_ok() { "commit" } else { "failed commit" });
        if committed.is_err() {
            span.record("otel.status_code", "ERROR");
        }
        committed
    }

    /// Rolls back; the span ends with it.
    pub async fn rollback(self) -> Result<(), DbErr> {
        let Self { txn, span } = self;
        span.record("db.outcome", "rollback");
        txn.rollback().instrument(span).await
    }
}

impl std::ops::Deref for Transaction {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Transaction {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.txn.get_database_backend()
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one(stmt).await
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// Begins a transaction, traced.
pub async fn begin(db: &DatabaseConnection) -> Result<Transaction, DbErr> {
    let span = tracing::info_span!(
        "db.transaction",
        db.system = match db.get_database_backend() {
            DatabaseBackend::Postgres => "postgresql",
            DatabaseBackend::Sqlite => "sqlite",
            DatabaseBackend::MySql => "mysql",
        },
        db.outcome = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let txn = db.begin().instrument(span.clone()).await?;
    Ok(Transaction { txn, span })
}

/// Begins a transaction that is going to write, traced.
///
/// SQLite has one writer at a time, and a transaction that reads first and writes later
/// fails at once ("database is locked") if another connection committed in between — which
/// the outbox relay does right after every commit it is woken for. So on SQLite the
/// transaction claims the writer's lock with its first statement (a write to the outbox
/// that changes nothing; every service has one), and a competing writer then waits its
/// turn (busy timeout) instead of failing. PostgreSQL needs nothing of the kind.
pub async fn begin_write(db: &DatabaseConnection) -> Result<Transaction, DbErr> {
    let txn = begin(db).await?;
    if txn.get_database_backend() == DatabaseBackend::Sqlite {
        txn.execute_unprepared("UPDATE outbox SET seq = seq WHERE seq = -1").await?;
    }
    Ok(txn)
}

/// A migration that adds a nullable `traceparent` column to `table`: where an aggregate
/// keeps the W3C trace context of the story that created it, so that what happens to it
/// later (a webhook, a sweep, a sender loop) continues that trace.
#[derive(Debug)]
pub struct AddTraceparent<T, C> {
    name: &'static str,
    table: T,
    column: C,
}

impl<T, C> AddTraceparent<T, C> {
    /// The migration `name` (its row in the migrations table) adding `column` to `table`.
    pub fn new(name: &'static str, table: T, column: C) -> Self {
        Self { name, table, column }
    }
}

impl<T, C> sea_orm_migration::MigrationName for AddTraceparent<T, C> {
    fn name(&self) -> &str {
        self.name
    }
}

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl<T, C> sea_orm_migration::MigrationTrait for AddTraceparent<T, C>
where
    T: sea_orm::Iden + Copy + Send + Sync + 'static,
    C: sea_orm::Iden + Copy + Send + Sync + 'static,
{
    async fn up(&self, manager: &sea_orm_migration::SchemaManager) -> Result<(), DbErr> {
        use sea_orm_migration::prelude::{ColumnDef, Table};
        let add = Table::alter().table(self.table).add_column(ColumnDef::new(self.column).string().null()).to_owned();
        manager.alter_table(add).await
    }

    async fn down(&self, manager: &sea_orm_migration::SchemaManager) -> Result<(), DbErr> {
        use sea_orm_migration::prelude::Table;
        manager.alter_table(Table::alter().table(self.table).drop_column(self.column).to_owned()).await
    }
}

/// Inserts `row` unless a row with the same `key` (a unique key of the table) exists; whether
/// it was inserted. The way to record something exactly once under races: two callers
/// inserting at once both succeed, and exactly one of them learns it was first.
pub async fn insert_once<A, C>(
    db: &C,
    row: A,
    key: impl IntoIterator<Item = <A::Entity as EntityTrait>::Column>,
) -> Result<bool, DbErr>
where
    A: ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
    C: ConnectionTrait,
{
    let inserted = <A::Entity as EntityTrait>::insert(row)
        .on_conflict(OnConflict::columns(key).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(inserted > 0)
}

/// Takes the write lock of the rows of `E` whose `column` is `value`, for the rest of the
/// transaction `db` (a write that changes nothing); whether there was such a row. What the
/// caller reads after it cannot change before it commits, and a racing transaction doing
/// the same waits, then sees the outcome.
pub async fn lock_row<E, C>(db: &C, column: E::Column, value: impl Into<sea_orm::Value>) -> Result<bool, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let result = E::update_many().col_expr(column, Expr::col(column).into()).filter(column.eq(value)).exec(db).await?;
    Ok(result.rows_affected > 0)
}

/// A `LIKE` pattern (for use with `ESCAPE '\'`) in which `%`, `_` and `\` of `literal`
/// match only themselves.
pub fn like_literal(literal: &str) -> String {
    literal.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Whether `err` is a unique-constraint violation: how inserts learn that an email or SKU is
/// taken without a racy check-then-insert.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_literals() {
        assert_eq!(like_literal(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_file("sqlite://./.mart/user.db?mode=rwc"), Some("./.mart/user.db"));
        assert_eq!(sqlite_file("sqlite:///tmp/x.db"), Some("/tmp/x.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}

//! The app tier's durable state: organisations (tenants), users, memberships, invites, service
//! tokens, probes seen, the audit log and server-side sessions.
//!
//! One [`Store`] type over two backends: SQLite for `scope launch` (a file, or in memory) and
//! PostgreSQL for the cloud tier. Both run the same SQL text (sqlx runtime queries with `$N`
//! placeholders, which sqlx-sqlite accepts as positional parameters); only the migrations differ per
//! dialect (`migrations/sqlite`, `migrations/postgres`), and they are embedded in the binary and
//! run by [`Store::connect`].
//!
//! Tenant isolation is structural: every method that reads or changes a tenant's rows takes the
//! [`OrgId`] and every such query filters on it, so an id guessed or copied from another tenant
//! finds nothing ([`StoreError::NotFound`]) rather than another tenant's row.
//!
//! Secrets (service tokens, invite secrets, session ids) are random, returned in clear exactly
//! once, and only their SHA-256 is stored. Passwords are stored as argon2id PHC strings.

mod audit;
mod clock;
mod error;
mod ids;
mod invites;
mod members;
mod orgs;
mod probes;
mod secret;
mod sessions;
mod tokens;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use audit::{Actor, AuditCursor, AuditEntry, MAX_AUDIT_PAGE, NewAuditEntry};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Result, StoreError};
pub use ids::{InviteId, OrgId, TokenId, UserId};
pub use invites::{INVITE_TTL_MILLIS, Invite};
pub use members::{Member, Role};
pub use orgs::Org;
pub use probes::{ProbeSeen, ProbeStatsDelta, ProbeUpdate};
pub use secret::hash_secret;
pub use sessions::SessionId;
pub use tokens::{TOKEN_PREFIX, TokenInfo};
pub use users::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, User};

/// Migrations for the SQLite schema, embedded at build time (build.rs re-runs on changes).
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
/// Migrations for the PostgreSQL schema.
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (a file, or in memory): `scope launch`.
    Sqlite,
    /// PostgreSQL: the cloud tier.
    Postgres,
}

#[derive(Debug)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug)]
struct Inner {
    db: Db,
    clock: Arc<dyn Clock>,
}

/// A handle to the store. Cloning is cheap (an `Arc`); all clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// Runs `$body` with `$db` bound to the backend's pool (`&SqlitePool` or `&PgPool`). The body is
/// compiled once per backend, so the same runtime query text serves both.
macro_rules! with_db {
    ($store:expr, $db:ident => $body:expr) => {
        match &$store.inner.db {
            $crate::Db::Sqlite($db) => $body,
            $crate::Db::Postgres($db) => $body,
        }
    };
}
pub(crate) use with_db;

impl Store {
    /// Opens the store at `url` and brings its schema up to date.
    ///
    /// Accepted URLs:
    /// - `sqlite::memory:`: a private in-memory database (gone when the last clone is dropped);
    /// - `sqlite:///path/to/scope.db?mode=rwc` (or `sqlite:scope.db?mode=rwc`): a file, created
    ///   when `mode=rwc` is given;
    /// - `postgres://user:password@host:port/db` (or `postgresql://`).
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?;
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            Store::connect_sqlite(opts, in_memory).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?;
            Store::connect_postgres(opts).await
        } else {
            Err(StoreError::Invalid(
                "database URL must start with sqlite: or postgres://".into(),
            ))
        }
    }

    /// Opens a SQLite store and runs the migrations. Foreign keys are always enabled; files use
    /// WAL so readers do not block the writer.
    async fn connect_sqlite(opts: SqliteConnectOptions, in_memory: bool) -> Result<Store> {
        let opts = opts
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = if in_memory {
            // An in-memory database lives as long as one connection to it does. A single connection
            // that is never retired keeps the data for the life of the store, and serialises
            // access, which also avoids shared-cache table-lock errors.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(opts)
                .await?
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(
                    opts.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal),
                )
                .await?
        };
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(Store::from_db(Db::Sqlite(pool)))
    }

    /// Opens a PostgreSQL store from explicit options and runs the migrations.
    pub async fn connect_postgres(opts: PgConnectOptions) -> Result<Store> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Store::from_db(Db::Postgres(pool)))
    }

    fn from_db(db: Db) -> Store {
        Store {
            inner: Arc::new(Inner {
                db,
                clock: Arc::new(SystemClock),
            }),
        }
    }

    /// The same store reading time from `clock` (tests use a [`ManualClock`] to move time).
    /// Clones made before this call keep their clock.
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Store {
        let db = match &self.inner.db {
            Db::Sqlite(p) => Db::Sqlite(p.clone()),
            Db::Postgres(p) => Db::Postgres(p.clone()),
        };
        Store {
            inner: Arc::new(Inner { db, clock }),
        }
    }

    /// Which database this store uses.
    pub fn backend(&self) -> Backend {
        match self.inner.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<()> {
        with_db!(self, db => {
            sqlx::query("SELECT 1").execute(db).await?;
        });
        Ok(())
    }

    /// Closes every connection of the pool, waiting for queries in flight. Other clones of this
    /// store fail afterwards.
    pub async fn close(&self) {
        with_db!(self, db => db.close().await)
    }

    /// Current time, unix milliseconds, from the store's clock.
    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now_millis()
    }
}

/// Rows fetched as `(i64,)` for `COUNT(*)` and similar, identical on both backends.
pub(crate) type Count = (i64,);

//! The databases the suite runs against, each fresh per test and cleaned up afterwards.

use std::path::PathBuf;
use std::str::FromStr;

use scope_store::Store;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

const PG_ENV: &str = "SCOPE_TEST_DATABASE_URL";
const PG_HELP: &str = "the PostgreSQL store tests need a server: run `bash scripts/ensure-postgres.sh` \
     (as root) and export SCOPE_TEST_DATABASE_URL to the URL it prints \
     (or `source /var/lib/scope-test/pg.env`)";

/// One test's database. Dropping it removes the database (file or PostgreSQL database).
pub struct TestDb {
    /// The store under test.
    pub store: Store,
    /// A URL that opens the same database again (`None` for in-memory SQLite), for tests of
    /// reopening and of what the schema itself enforces.
    pub url: Option<String>,
    _cleanup: Cleanup,
}

enum Cleanup {
    None,
    Dir(PathBuf),
    PgSchema {
        admin: Box<PgConnectOptions>,
        schema: String,
    },
}

impl TestDb {
    pub async fn sqlite_memory() -> TestDb {
        let store = Store::connect("sqlite::memory:")
            .await
            .expect("open in-memory SQLite");
        TestDb {
            store,
            url: None,
            _cleanup: Cleanup::None,
        }
    }

    pub async fn sqlite_file() -> TestDb {
        let dir = std::env::temp_dir().join(format!("scope-store-test-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.join("scope.db").display());
        let store = Store::connect(&url).await.expect("open SQLite file");
        TestDb {
            store,
            url: Some(url),
            _cleanup: Cleanup::Dir(dir),
        }
    }

    /// A fresh schema in the database `SCOPE_TEST_DATABASE_URL` names, made the store's
    /// `search_path`, so its migrations and tables land there. A schema rather than a database
    /// per test: `CREATE DATABASE` costs most of a second, a schema a few milliseconds, and tests
    /// still start empty and run in parallel. The name carries its creation time so that
    /// `scripts/ensure-postgres.sh` can sweep schemas left by killed runs.
    pub async fn postgres() -> TestDb {
        let admin_url = match std::env::var(PG_ENV) {
            Ok(url) if !url.trim().is_empty() => url.trim().to_string(),
            _ => panic!("{PG_ENV} is not set: {PG_HELP}"),
        };
        let admin = PgConnectOptions::from_str(&admin_url)
            .unwrap_or_else(|e| panic!("{PG_ENV} is not a valid PostgreSQL URL ({e}): {PG_HELP}"));
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let schema = format!("scope_test_{secs}_{}", random_suffix());
        let mut conn = admin.connect().await.unwrap_or_else(|e| {
            panic!("cannot connect to PostgreSQL at {PG_ENV} ({e}): {PG_HELP}")
        });
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .unwrap_or_else(|e| panic!("cannot create test schema {schema} ({e}): {PG_HELP}"));
        conn.close().await.ok();
        // Registered before connecting, so the schema goes even if connecting fails.
        let cleanup = Cleanup::PgSchema {
            admin: Box::new(admin.clone()),
            schema: schema.clone(),
        };
        let url = format!(
            "{admin_url}{}options%5Bsearch_path%5D={schema}&application_name={schema}",
            if admin_url.contains('?') { '&' } else { '?' }
        );
        let store = Store::connect(&url)
            .await
            .expect("open PostgreSQL test schema");
        TestDb {
            store,
            url: Some(url),
            _cleanup: cleanup,
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::None => {}
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgSchema { admin, schema } => {
                // Drop runs inside the test's runtime, which cannot block on async work, so the
                // schema is dropped from a thread with its own small runtime. A lock timeout
                // turns any wait we did not foresee into a warning instead of a hung test.
                let (admin, name) = (*admin.clone(), schema.clone());
                let dropped = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async move {
                        let mut conn = admin.options([("lock_timeout", "10s")]).connect().await?;
                        // The store's connections are tagged with the schema name. One may still
                        // hold the locks of a transaction whose rollback was queued on the test's
                        // runtime, which is now blocked in this drop: end them, or DROP SCHEMA
                        // would wait forever.
                        sqlx::query(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = $1 AND pid <> pg_backend_pid()",
                        )
                        .bind(&name)
                        .execute(&mut conn)
                        .await?;
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {name} CASCADE"
                        )))
                        .await?;
                        conn.close().await
                    })
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("warning: could not drop test schema {schema}");
                }
            }
        }
    }
}

/// 12 random hex characters (a valid, unquoted identifier suffix).
fn random_suffix() -> String {
    use rand::RngCore;
    let mut b = [0u8; 6];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

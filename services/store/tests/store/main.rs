//! The store's test suite: every case runs against each backend — SQLite in memory, SQLite in a
//! temporary file, and PostgreSQL (a fresh database per test) — so both dialects are held to the
//! same behaviour.
//!
//! PostgreSQL comes from `SCOPE_TEST_DATABASE_URL` (a role allowed to create databases); run
//! `bash scripts/ensure-postgres.sh` to get one. Without it the `postgres::` tests fail, on
//! purpose: a suite that silently skips its second backend proves nothing about it.
//!
//! Run one backend with a filter: `cargo test -p scope-store --test store postgres::`.

mod backends;
mod cases;

/// Instantiates each listed case (an `async fn(&TestDb)` in `cases`) once per backend, as
/// `sqlite_memory::<case>`, `sqlite_file::<case>` and `postgres::<case>`.
macro_rules! store_test_suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite_memory {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::backends::TestDb::sqlite_memory().await;
                    crate::cases::$case(&db).await;
                }
            )*
        }
        mod sqlite_file {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::backends::TestDb::sqlite_file().await;
                    crate::cases::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::backends::TestDb::postgres().await;
                    crate::cases::$case(&db).await;
                }
            )*
        }
    };
}

store_test_suite!(
    connects_and_reports_backend,
    reopening_keeps_data_and_migrations_are_idempotent,
    audit_log_refuses_update_and_delete,
    // organisations and users
    orgs_create_get_and_slugs,
    org_names_are_validated,
    users_create_normalise_and_conflict,
    verify_password_accepts_only_the_right_password,
    change_password_replaces_hash_and_ends_sessions,
    // memberships
    memberships_add_list_and_roles,
    create_org_with_admin_makes_first_admin,
    last_admin_cannot_be_removed_or_demoted,
    concurrent_demotions_keep_an_admin,
    member_calls_are_scoped_to_the_org,
    // invites
    invite_accept_grants_role_once,
    invite_for_another_email_is_refused_and_stays_usable,
    invite_expiry_and_revocation,
    invite_never_demotes,
    invites_are_scoped_to_the_org,
    // service tokens
    token_create_resolve_and_list,
    token_last_used_is_written_at_most_once_a_minute,
    token_revoke,
    tokens_are_scoped_to_the_org,
    token_input_is_validated,
    // probes
    probes_upsert_keeps_first_seen,
    probe_disconnect_only_from_holding_replica,
    probe_stats_add_up,
    probes_are_scoped_to_the_org,
    probe_input_is_validated,
    // audit log
    audit_append_and_list_newest_first,
    audit_paging_handles_same_millisecond,
    audit_input_is_bounded,
    audit_is_scoped_to_the_org,
    // sessions
    sessions_create_check_and_revoke,
    sessions_expire,
);

//! The account routes (`/api/auth/...`, `/api/org/...`); see `services/api/ACCOUNTS.md`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use scope_store::{
    Actor, AuditCursor, InviteId, MAX_AUDIT_PAGE, NewAuditEntry, OrgId, Role, TokenId, UserId,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Accounts, RequestCtx, SessionCtx, Signup, client_ip, now_millis, now_secs};
use crate::error::ApiError;
use crate::state::{Access, ApiState};

pub(crate) fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/auth/config", get(config))
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/signin", post(signin))
        .route("/api/auth/signout", post(signout))
        .route("/api/auth/me", get(me))
        .route("/api/auth/org", post(switch_org))
        .route("/api/auth/invite/accept", post(accept_invite))
        .route("/api/org/probes", get(probes))
        .route("/api/org/tokens", get(tokens).post(create_token))
        .route("/api/org/tokens/{id}", delete(revoke_token))
        .route("/api/org/members", get(members))
        .route(
            "/api/org/members/{user}",
            put(set_role).delete(remove_member),
        )
        .route("/api/org/invites", get(invites).post(create_invite))
        .route("/api/org/invites/{id}", delete(revoke_invite))
        .route("/api/org/audit", get(audit_log))
}

/// JSON bodies: a malformed one gets our `{"error": ...}` 400, not axum's plain-text rejection.
fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::BadRequest(format!("invalid request body: {}", e.body_text())))
}

fn accounts(st: &ApiState) -> Result<Arc<Accounts>, ApiError> {
    match &st.access {
        Access::Accounts(a) => Ok(a.clone()),
        Access::Local(_) => Err(ApiError::NotFound(
            "accounts are off: this app runs in local mode (scope launch)".into(),
        )),
    }
}

fn session(parts: &Parts) -> Result<Arc<SessionCtx>, ApiError> {
    match parts.extensions.get::<RequestCtx>() {
        Some(RequestCtx::Session(s)) => Ok(s.clone()),
        _ => Err(ApiError::Unauthorized("sign in first".into())),
    }
}

/// A request acting on the session's current organisation with at least some role.
struct OrgCall {
    acc: Arc<Accounts>,
    session: Arc<SessionCtx>,
    org: OrgId,
}

impl OrgCall {
    fn new(st: &ApiState, parts: &Parts, role: Role) -> Result<OrgCall, ApiError> {
        let acc = accounts(st)?;
        let session = session(parts)?;
        let org = session.require(role)?.clone();
        Ok(OrgCall { acc, session, org })
    }

    /// Audits an action of the signed-in user in the organisation.
    async fn audit(&self, action: &str, target: &str, details: Value) {
        audit(
            &self.acc,
            &self.org,
            Actor::User(self.session.user.clone()),
            action,
            target,
            details,
        )
        .await;
    }
}

/// Appends to the organisation's audit log. A failed write is logged but does not undo or fail
/// the change it records (which has already happened).
async fn audit(
    acc: &Accounts,
    org: &OrgId,
    actor: Actor,
    action: &str,
    target: &str,
    details: Value,
) {
    let entry = NewAuditEntry {
        actor,
        action,
        target,
        result: "ok",
        details,
        at: now_millis(),
    };
    if let Err(e) = acc.store.audit_append(org, &entry).await {
        tracing::error!(org = %org, action, "cannot write the audit log: {e}");
    }
}

async fn config(State(st): State<ApiState>) -> Result<Response, ApiError> {
    let body = match &st.access {
        Access::Local(_) => json!({ "mode": "local" }),
        Access::Accounts(acc) => json!({
            "mode": "accounts",
            "signup": match acc.signup { Signup::Open => "open", Signup::Closed => "closed" },
            "bootstrapRequired": acc.store.user_count().await? == 0,
        }),
    };
    Ok(Json(body).into_response())
}

/// The signed-in user, their organisations and the current one, and the CSRF token.
async fn me_body(
    acc: &Accounts,
    user: &UserId,
    claims: &scope_auth::Claims,
) -> Result<Value, ApiError> {
    let user = acc.store.user(user).await?;
    let orgs = acc.store.orgs_for_user(&user.id).await?;
    let current = orgs.iter().find(|(o, _)| o.id.as_str() == claims.org);
    Ok(json!({
        "user": user,
        "org": current.map(|(o, _)| o),
        "role": current.map(|(_, r)| r.as_str()),
        "orgs": orgs.iter().map(|(o, r)| {
            let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
            v["role"] = json!(r.as_str());
            v
        }).collect::<Vec<_>>(),
        "csrfToken": claims.csrf,
    }))
}

/// Starts a session for `user` looking at `org` and answers Me with its cookie.
async fn start_session(
    acc: &Accounts,
    headers: &HeaderMap,
    user: &UserId,
    org: Option<&OrgId>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let now = now_secs();
    let expires_ms = acc.codec.session_end(now) * 1000;
    let sid = acc.store.create_session(user, expires_ms).await?;
    let claims = acc.codec.new_claims(
        user.as_str(),
        sid.as_str(),
        org.map_or("", OrgId::as_str),
        now,
    );
    let me = me_body(acc, user, &claims).await?;
    Ok((
        status,
        [(header::SET_COOKIE, acc.cookie_for(&claims, headers))],
        Json(me),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignupBody {
    email: String,
    password: String,
    #[serde(default)]
    org_name: String,
    #[serde(default)]
    bootstrap_secret: String,
    #[serde(default)]
    invite: String,
}

async fn signup(
    State(st): State<ApiState>,
    headers: HeaderMap,
    b: Result<Json<SignupBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let acc = accounts(&st)?;
    let b = body(b)?;
    if !b.invite.is_empty() {
        // Check the invite before creating an account that could not use it.
        let invite = acc.store.pending_invite(&b.invite).await.map_err(|_| {
            ApiError::NotFound("this invitation is unknown, used, revoked or expired".into())
        })?;
        if invite.email != b.email.trim().to_lowercase() {
            return Err(ApiError::Forbidden(
                "this invitation is for another email address".into(),
            ));
        }
        let user = create_user(&acc, &b).await?;
        let (org, role) = acc.store.accept_invite(&b.invite, &user.id).await?;
        audit(
            &acc,
            &org,
            Actor::User(user.id.clone()),
            "invite.accept",
            &user.email,
            json!({ "role": role.as_str(), "invite": invite.id }),
        )
        .await;
        return start_session(&acc, &headers, &user.id, Some(&org), StatusCode::CREATED).await;
    }
    let first = acc.store.user_count().await? == 0;
    if first {
        let Some(expected) = &acc.bootstrap_secret else {
            return Err(ApiError::Forbidden(
                "this tier has no user yet and no bootstrap secret is configured; restart the app \
                 to get one printed, or pass --bootstrap-secret"
                    .into(),
            ));
        };
        if !scope_auth::constant_time_eq(b.bootstrap_secret.trim().as_bytes(), expected.as_bytes())
        {
            return Err(ApiError::Forbidden(
                "the first account needs the bootstrap secret printed in the app's log at start \
                 (or the one given with --bootstrap-secret)"
                    .into(),
            ));
        }
    } else if acc.signup == Signup::Closed {
        return Err(ApiError::Forbidden(
            "sign-up is closed on this tier: ask an admin of your organisation for an invitation"
                .into(),
        ));
    }
    if b.org_name.trim().is_empty() {
        return Err(ApiError::BadRequest("orgName is required".into()));
    }
    // Validate the organisation name before the account exists, so a bad name leaves nothing.
    let user = create_user(&acc, &b).await?;
    let org = acc
        .store
        .create_org_with_admin(&b.org_name, &user.id)
        .await?;
    let actor = Actor::User(user.id.clone());
    audit(
        &acc,
        &org.id,
        actor,
        "org.create",
        &org.name,
        json!({ "by": user.email, "bootstrap": first }),
    )
    .await;
    start_session(&acc, &headers, &user.id, Some(&org.id), StatusCode::CREATED).await
}

async fn create_user(acc: &Accounts, b: &SignupBody) -> Result<scope_store::User, ApiError> {
    acc.store
        .create_user(&b.email, &b.password)
        .await
        .map_err(|e| match e {
            scope_store::StoreError::Conflict(_) => ApiError::Conflict(
                "an account with this email already exists; sign in instead".into(),
            ),
            other => other.into(),
        })
}

#[derive(Deserialize)]
struct SigninBody {
    email: String,
    password: String,
}

async fn signin(
    State(st): State<ApiState>,
    parts: Parts,
    b: Result<Json<SigninBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let acc = accounts(&st)?;
    let b = body(b)?;
    let ip = client_ip(&parts.extensions);
    let metrics = scope_telemetry::metrics();
    if let Some(wait) = acc.limiter.check(&b.email, ip, Instant::now()) {
        metrics.signin_attempt("limited");
        tracing::warn!(client = %ip, "sign-in refused: too many failed attempts");
        return Err(ApiError::TooManyRequests(wait.as_secs().max(1)));
    }
    let Some(user) = acc.store.verify_password(&b.email, &b.password).await? else {
        acc.limiter.failed(&b.email, ip, Instant::now());
        metrics.signin_attempt("failed");
        tracing::info!(client = %ip, "sign-in failed: wrong email or password");
        return Err(ApiError::Unauthorized("wrong email or password".into()));
    };
    acc.limiter.succeeded(&b.email, ip);
    metrics.signin_attempt("ok");
    let orgs = acc.store.orgs_for_user(&user.id).await?;
    let org = orgs.first().map(|(o, _)| o.id.clone());
    if let Some(org) = &org {
        audit(
            &acc,
            org,
            Actor::User(user.id.clone()),
            "auth.signin",
            &user.email,
            json!({ "client": ip.to_string() }),
        )
        .await;
    }
    start_session(&acc, &parts.headers, &user.id, org.as_ref(), StatusCode::OK).await
}

async fn signout(State(st): State<ApiState>, parts: Parts) -> Result<Response, ApiError> {
    let acc = accounts(&st)?;
    let s = session(&parts)?;
    acc.store.revoke_session(&s.claims.sid).await?;
    if let Some(org) = &s.org {
        audit(
            &acc,
            org,
            Actor::User(s.user.clone()),
            "auth.signout",
            s.user.as_str(),
            Value::Null,
        )
        .await;
    }
    let clear = scope_auth::clear_cookie(acc.secure(&parts.headers));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

async fn me(State(st): State<ApiState>, parts: Parts) -> Result<Response, ApiError> {
    let acc = accounts(&st)?;
    let s = session(&parts)?;
    let mut claims = s.claims.clone();
    if s.role.is_none() {
        // Removed from the current organisation: fall back to another one, if any.
        let orgs = acc.store.orgs_for_user(&s.user).await?;
        if let Some((org, _)) = orgs.first() {
            claims = acc.codec.with_org(&claims, org.id.as_str(), now_secs());
            let me = me_body(&acc, &s.user, &claims).await?;
            return Ok((
                [(header::SET_COOKIE, acc.cookie_for(&claims, &parts.headers))],
                Json(me),
            )
                .into_response());
        }
    }
    Ok(Json(me_body(&acc, &s.user, &claims).await?).into_response())
}

/// Makes `org` the session's current organisation (the user must be a member) and answers Me.
async fn switch_to(
    acc: &Accounts,
    parts: &Parts,
    s: &SessionCtx,
    org: &OrgId,
) -> Result<Response, ApiError> {
    if acc.store.role_of(org, &s.user).await?.is_none() {
        return Err(ApiError::NotFound("no such organisation".into()));
    }
    let claims = acc.codec.with_org(&s.claims, org.as_str(), now_secs());
    let me = me_body(acc, &s.user, &claims).await?;
    Ok((
        [(header::SET_COOKIE, acc.cookie_for(&claims, &parts.headers))],
        Json(me),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SwitchBody {
    org_id: String,
}

async fn switch_org(
    State(st): State<ApiState>,
    parts: Parts,
    b: Result<Json<SwitchBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let acc = accounts(&st)?;
    let s = session(&parts)?;
    let org: OrgId = body(b)?
        .org_id
        .parse()
        .map_err(|_| ApiError::NotFound("no such organisation".into()))?;
    switch_to(&acc, &parts, &s, &org).await
}

#[derive(Deserialize)]
struct SecretBody {
    secret: String,
}

async fn accept_invite(
    State(st): State<ApiState>,
    parts: Parts,
    b: Result<Json<SecretBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let acc = accounts(&st)?;
    let s = session(&parts)?;
    let secret = body(b)?.secret;
    let (org, role) = acc
        .store
        .accept_invite(&secret, &s.user)
        .await
        .map_err(|e| match e {
            scope_store::StoreError::NotFound => {
                ApiError::NotFound("this invitation is unknown, used, revoked or expired".into())
            }
            scope_store::StoreError::Invalid(_) => {
                ApiError::Forbidden("this invitation is for another email address".into())
            }
            other => other.into(),
        })?;
    audit(
        &acc,
        &org,
        Actor::User(s.user.clone()),
        "invite.accept",
        s.user.as_str(),
        json!({ "role": role.as_str() }),
    )
    .await;
    switch_to(&acc, &parts, &s, &org).await
}

/// Probes of the organisation: the store's record (every probe ever seen, totals over replicas)
/// overlaid with this replica's live view (connected now, counters since it saw the probe).
async fn probes(State(st): State<ApiState>, parts: Parts) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Viewer)?;
    let (acc, org) = (&c.acc, &c.org);
    let seen = acc.store.probes(org).await?;
    let live = st
        .collectors
        .tenant(&scope_collector::TenantId::new(org.as_str()))
        .snapshot()
        .probes;
    let mut out: Vec<Value> = Vec::new();
    let mut listed = std::collections::HashSet::new();
    for p in &seen {
        let l = live.iter().find(|l| l.id == p.probe_id);
        listed.insert(p.probe_id.clone());
        out.push(json!({
            "id": p.probe_id,
            "hostname": l.map_or(p.hostname.as_str(), |l| l.hostname.as_str()),
            "version": l.map_or(p.version.as_str(), |l| l.version.as_str()),
            "connected": l.map_or(p.connected, |l| l.connected),
            "firstSeen": p.first_seen,
            "lastSeen": l.map_or(p.last_seen, |l| l.last_seen.max(p.last_seen)),
            "reportsReceived": l.map_or(p.reports_received, |l| (l.reports_received as i64).max(p.reports_received)),
            "droppedReports": l.map_or(p.reports_dropped, |l| (l.dropped_reports as i64).max(p.reports_dropped)),
            "reconnects": l.map_or(p.reconnects, |l| (l.reconnects as i64).max(p.reconnects)),
            "replica": p.replica,
        }));
    }
    for l in live.iter().filter(|l| !listed.contains(&l.id)) {
        let mut v = serde_json::to_value(l).unwrap_or(Value::Null);
        v["replica"] = json!(null);
        out.push(v);
    }
    Ok(Json(out).into_response())
}

async fn tokens(State(st): State<ApiState>, parts: Parts) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Admin)?;
    let (acc, org) = (&c.acc, &c.org);
    Ok(Json(acc.store.tokens(org).await?).into_response())
}

#[derive(Deserialize)]
struct NameBody {
    name: String,
}

async fn create_token(
    State(st): State<ApiState>,
    parts: Parts,
    b: Result<Json<NameBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Admin)?;
    let (acc, s, org) = (&c.acc, &c.session, &c.org);
    let name = body(b)?.name;
    let (info, secret) = acc.store.create_token(org, &name, Some(&s.user)).await?;
    c.audit(
        "token.create",
        info.id.as_str(),
        json!({ "name": info.name, "prefix": info.prefix }),
    )
    .await;
    let command = format!("scope probe --service-token {secret} {}", acc.probe_address);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": info, "secret": secret, "command": command })),
    )
        .into_response())
}

async fn revoke_token(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Admin)?;
    let (acc, org) = (&c.acc, &c.org);
    let id: TokenId = id
        .parse()
        .map_err(|_| ApiError::NotFound("no such token".into()))?;
    acc.store.revoke_token(org, &id).await?;
    c.audit("token.revoke", id.as_str(), Value::Null).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn members(State(st): State<ApiState>, parts: Parts) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Viewer)?;
    let (acc, org) = (&c.acc, &c.org);
    Ok(Json(acc.store.members(org).await?).into_response())
}

#[derive(Deserialize)]
struct RoleBody {
    role: String,
}

fn parse_role(s: &str) -> Result<Role, ApiError> {
    s.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "unknown role {s:?}; expected viewer, operator or admin"
        ))
    })
}

fn parse_user(id: &str) -> Result<UserId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound("no such member".into()))
}

async fn set_role(
    State(st): State<ApiState>,
    Path(user): Path<String>,
    parts: Parts,
    b: Result<Json<RoleBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Admin)?;
    let (acc, org) = (&c.acc, &c.org);
    let user = parse_user(&user)?;
    let role = parse_role(&body(b)?.role)?;
    acc.store
        .set_role(org, &user, role)
        .await
        .map_err(member_error)?;
    c.audit(
        "member.role",
        user.as_str(),
        json!({ "role": role.as_str() }),
    )
    .await;
    let member = acc
        .store
        .members(org)
        .await?
        .into_iter()
        .find(|m| m.user_id == user)
        .ok_or_else(|| ApiError::NotFound("no such member".into()))?;
    Ok(Json(member).into_response())
}

fn member_error(e: scope_store::StoreError) -> ApiError {
    match e {
        scope_store::StoreError::NotFound => ApiError::NotFound("no such member".into()),
        other => other.into(),
    }
}

async fn remove_member(
    State(st): State<ApiState>,
    Path(user): Path<String>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Admin)?;
    let (acc, org) = (&c.acc, &c.org);
    let user = parse_user(&user)?;
    acc.store
        .remove_member(org, &user)
        .await
        .map_err(member_error)?;
    c.audit("member.remove", user.as_str(), Value::Null).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn invites(State(st): State<ApiState>, parts: Parts) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Admin)?;
    let (acc, org) = (&c.acc, &c.org);
    Ok(Json(acc.store.invites(org).await?).into_response())
}

#[derive(Deserialize)]
struct InviteBody {
    email: String,
    role: String,
}

async fn create_invite(
    State(st): State<ApiState>,
    parts: Parts,
    b: Result<Json<InviteBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Admin)?;
    let (acc, s, org) = (&c.acc, &c.session, &c.org);
    let b = body(b)?;
    let role = parse_role(&b.role)?;
    let (invite, secret) = acc
        .store
        .create_invite(org, &b.email, role, &s.user)
        .await?;
    c.audit(
        "invite.create",
        &invite.email,
        json!({ "role": role.as_str(), "invite": invite.id }),
    )
    .await;
    let link = format!("/#/invite/{secret}");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "invite": invite, "secret": secret, "link": link })),
    )
        .into_response())
}

async fn revoke_invite(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Admin)?;
    let (acc, org) = (&c.acc, &c.org);
    let id: InviteId = id
        .parse()
        .map_err(|_| ApiError::NotFound("no such invitation".into()))?;
    acc.store.revoke_invite(org, &id).await?;
    c.audit("invite.revoke", id.as_str(), Value::Null).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `before` is `<at>` or `<at>.<id>` as returned in `next`.
fn parse_cursor(s: &str) -> Result<AuditCursor, ApiError> {
    let bad = || ApiError::BadRequest(format!("invalid before={s:?}; pass the `next` value"));
    let (at, id) = match s.split_once('.') {
        Some((at, id)) => (at, Some(id.to_owned())),
        None => (s, None),
    };
    Ok(AuditCursor {
        at: at.parse().map_err(|_| bad())?,
        id,
    })
}

async fn audit_log(
    State(st): State<ApiState>,
    Query(q): Query<HashMap<String, String>>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let c = OrgCall::new(&st, &parts, Role::Admin)?;
    let (acc, org) = (&c.acc, &c.org);
    let limit: u32 = match q.get("limit") {
        None => 100,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=MAX_AUDIT_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "invalid limit={v:?}; expected 1 to {MAX_AUDIT_PAGE}"
                ))
            })?,
    };
    let before = q.get("before").map(|b| parse_cursor(b)).transpose()?;
    let entries = acc.store.audit_list(org, before, limit).await?;
    let emails: HashMap<String, String> = acc
        .store
        .members(org)
        .await?
        .into_iter()
        .map(|m| (m.user_id.as_str().to_owned(), m.email))
        .collect();
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| format!("{}.{}", e.at, e.id)))
        .flatten();
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let email = emails.get(&e.actor.to_string()).cloned();
            let mut v = serde_json::to_value(&e).unwrap_or(Value::Null);
            if let Some(email) = email {
                v["actor_email"] = json!(email);
            }
            v
        })
        .collect();
    Ok(Json(json!({ "entries": entries, "next": next })).into_response())
}

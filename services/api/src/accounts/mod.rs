//! Accounts mode: who is asking (the session cookie), for which organisation, with which role;
//! the middleware that puts that on every request; and the account routes (`routes`).
//!
//! The tenant of every data route is the organisation named in the session, checked against the
//! user's membership on each request; nothing a client sends in a header or query chooses it.

mod routes;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scope_auth::{
    Claims, LimiterConfig, SESSION_COOKIE, SessionCodec, SessionKey, SessionTimes, SignInLimiter,
    read_cookie, session_cookie,
};
use scope_collector::TenantId;
use scope_store::{OrgId, Role, Store, UserId};

use crate::error::ApiError;
use crate::state::{Access, ApiState};

pub(crate) use routes::router;

/// Who may create an organisation by signing up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signup {
    /// Anyone (a hosted service): each sign-up creates a new, empty organisation.
    Open,
    /// Only invited people (joining the inviting organisation), and the first admin with the
    /// bootstrap secret.
    Closed,
}

/// Settings of accounts mode.
pub struct AccountsConfig {
    /// The store of users, organisations, tokens and audit log.
    pub store: Store,
    /// Signs session tokens.
    pub session_key: SessionKey,
    /// Older keys still accepted (key rotation).
    pub previous_session_keys: Vec<SessionKey>,
    /// Session lifetimes.
    pub times: SessionTimes,
    /// Who may sign up.
    pub signup: Signup,
    /// The one-time secret that lets the first user sign up while the tier has no user.
    pub bootstrap_secret: Option<String>,
    /// Mark cookies `Secure` (the console is served over TLS, possibly by a proxy).
    pub secure_cookies: bool,
    /// The address probes connect to, for the command shown with a new token.
    pub probe_address: String,
    /// Sign-in rate limits.
    pub limiter: LimiterConfig,
}

/// Accounts mode, ready to serve.
pub struct Accounts {
    pub(crate) store: Store,
    pub(crate) codec: SessionCodec,
    pub(crate) limiter: SignInLimiter,
    pub(crate) signup: Signup,
    pub(crate) bootstrap_secret: Option<String>,
    pub(crate) secure_cookies: bool,
    pub(crate) probe_address: String,
}

impl Accounts {
    /// Accounts mode from `config`.
    pub fn new(config: AccountsConfig) -> Accounts {
        Accounts {
            codec: SessionCodec::new(
                &config.session_key,
                &config.previous_session_keys,
                config.times,
            ),
            limiter: SignInLimiter::new(config.limiter),
            store: config.store,
            signup: config.signup,
            bootstrap_secret: config.bootstrap_secret.filter(|s| !s.is_empty()),
            secure_cookies: config.secure_cookies,
            probe_address: config.probe_address,
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether this response's cookie must be `Secure`: always when configured, and when the
    /// load balancer says the browser came over TLS. (Trusting that header is harmless: it can
    /// only make the cookie stricter.)
    pub(crate) fn secure(&self, headers: &HeaderMap) -> bool {
        self.secure_cookies
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    }

    /// The `Set-Cookie` header value for `claims`.
    pub(crate) fn cookie_for(&self, claims: &Claims, headers: &HeaderMap) -> HeaderValue {
        let token = self.codec.issue(claims);
        let max_age = claims.exp - now_secs();
        HeaderValue::from_str(&session_cookie(&token, max_age, self.secure(headers)))
            .expect("a JWT is a valid header value")
    }
}

/// Unix seconds now.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

/// Unix milliseconds now.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64
}

/// A signed-in request.
#[derive(Debug, Clone)]
pub(crate) struct SessionCtx {
    pub(crate) user: UserId,
    /// The current organisation; `None` for a user who belongs to none (any more).
    pub(crate) org: Option<OrgId>,
    /// The user's role there; `None` when not (or no longer) a member.
    pub(crate) role: Option<Role>,
    pub(crate) claims: Claims,
}

impl SessionCtx {
    /// The current organisation, if the user's role there is at least `needed`.
    pub(crate) fn require(&self, needed: Role) -> Result<&OrgId, ApiError> {
        match (&self.org, self.role) {
            (Some(org), Some(role)) if role.allows(needed) => Ok(org),
            (Some(_), Some(_)) => Err(ApiError::Forbidden(format!(
                "this needs the {} role in the organisation",
                needed.as_str()
            ))),
            _ => Err(ApiError::Forbidden(
                "you are not a member of this organisation (any more); switch organisation".into(),
            )),
        }
    }
}

/// What the authentication middleware found out about a request.
#[derive(Debug, Clone)]
pub(crate) enum RequestCtx {
    /// Local mode: the one tenant.
    Local(TenantId),
    /// Accounts mode, signed in.
    Session(Arc<SessionCtx>),
    /// Accounts mode, a public route (sign-in, sign-up, config, static files).
    Anonymous,
}

impl RequestCtx {
    /// The tenant whose data the request may read.
    pub(crate) fn tenant(&self) -> Result<TenantId, ApiError> {
        match self {
            RequestCtx::Local(t) => Ok(t.clone()),
            RequestCtx::Session(s) => s
                .require(Role::Viewer)
                .map(|org| TenantId::new(org.as_str())),
            RequestCtx::Anonymous => Err(ApiError::Unauthorized("sign in first".into())),
        }
    }
}

/// Routes reachable without a session in accounts mode.
fn is_public(path: &str) -> bool {
    !path.starts_with("/api")
        || matches!(
            path,
            "/api/auth/config" | "/api/auth/signup" | "/api/auth/signin"
        )
}

fn is_mutation(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The client's address, for rate limiting.
pub(crate) fn client_ip(req_extensions: &axum::http::Extensions) -> IpAddr {
    req_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

/// Refuses browser requests that another site's page started: a state-changing request or a
/// WebSocket whose `Origin` is not this app. (Non-browser clients send no `Origin`.)
fn check_origin(headers: &HeaderMap, method: &Method) -> Result<(), ApiError> {
    let upgrade = headers.contains_key(header::UPGRADE);
    if !upgrade && !is_mutation(method) {
        return Ok(());
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "request from origin {origin:?} refused: only this app's own pages may make it"
        )))
    }
}

/// The middleware in front of every route: local mode keeps other sites out of a loopback app;
/// accounts mode resolves the session, checks CSRF on changes and renews the cookie when due.
pub(crate) async fn authenticate(
    State(st): State<ApiState>,
    mut req: Request,
    next: Next,
) -> Response {
    let acc = match &st.access {
        Access::Local(tenant) => {
            if let Err(why) = crate::guard::check(req.headers()) {
                tracing::warn!("refused request: {why}");
                return ApiError::Forbidden(why).into_response();
            }
            req.extensions_mut()
                .insert(RequestCtx::Local(tenant.clone()));
            return next.run(req).await;
        }
        Access::Accounts(acc) => acc.clone(),
    };
    if let Err(e) = check_origin(req.headers(), req.method()) {
        return e.into_response();
    }
    if is_public(req.uri().path()) {
        req.extensions_mut().insert(RequestCtx::Anonymous);
        return next.run(req).await;
    }
    let session = match resolve_session(&acc, req.headers()).await {
        Ok(s) => s,
        Err(e) => {
            let mut resp = e.into_response();
            if req.headers().contains_key(header::COOKIE) {
                // Drop a dead cookie so the browser stops sending it.
                let clear = scope_auth::clear_cookie(acc.secure(req.headers()));
                if let Ok(v) = HeaderValue::from_str(&clear) {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            return resp;
        }
    };
    if is_mutation(req.method()) {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !scope_auth::constant_time_eq(sent.as_bytes(), session.claims.csrf.as_bytes()) {
            return ApiError::Forbidden("missing or wrong X-CSRF-Token header".into())
                .into_response();
        }
    }
    let now = now_secs();
    let renew = acc
        .codec
        .needs_renewal(&session.claims, now)
        .then(|| acc.codec.renewed(&session.claims, now));
    let headers = req.headers().clone();
    req.extensions_mut()
        .insert(RequestCtx::Session(Arc::new(session)));
    let mut resp = next.run(req).await;
    // Handlers that set their own cookie (sign-out, switching organisation) win.
    if let Some(claims) = renew
        && !resp.headers().contains_key(header::SET_COOKIE)
    {
        resp.headers_mut()
            .insert(header::SET_COOKIE, acc.cookie_for(&claims, &headers));
    }
    resp
}

/// The session of a request's cookie, checked against the store (so signing out elsewhere ends
/// it here too) and with the user's current role in the session's organisation.
pub(crate) async fn resolve_session(
    acc: &Accounts,
    headers: &HeaderMap,
) -> Result<SessionCtx, ApiError> {
    let unauthorized = || ApiError::Unauthorized("sign in first (no valid session)".into());
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| read_cookie(v, SESSION_COOKIE))
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorized)?;
    let claims = acc
        .codec
        .verify(token, now_secs())
        .map_err(|_| unauthorized())?;
    let user = acc
        .store
        .session_valid(&claims.sid)
        .await?
        .filter(|u| u.as_str() == claims.sub)
        .ok_or_else(unauthorized)?;
    let org: Option<OrgId> = claims.org.parse().ok();
    let role = match &org {
        Some(org) => acc.store.role_of(org, &user).await?,
        None => None,
    };
    Ok(SessionCtx {
        user,
        org,
        role,
        claims,
    })
}

/// How often an open WebSocket re-checks its session.
pub(crate) const SESSION_RECHECK: Duration = Duration::from_secs(10);

/// Resolves when the session behind `headers` is no longer valid (signed out, expired, member
/// removed), checking every [`SESSION_RECHECK`]; never resolves in local mode. Lets a WebSocket
/// end with its session instead of streaming to a signed-out browser.
pub(crate) async fn session_ended(access: Access, headers: HeaderMap) {
    let Access::Accounts(acc) = access else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(SESSION_RECHECK).await;
        match resolve_session(&acc, &headers).await {
            Ok(s) if s.role.is_some() => continue,
            // The database being briefly unreachable does not end anyone's view.
            Err(ApiError::Unavailable(_)) => continue,
            _ => return,
        }
    }
}

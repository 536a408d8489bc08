//! API errors: a status and a message a person can act on, as JSON `{"error": "..."}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (e.g. an invalid option value).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: valid credentials, but not allowed (role too low, CSRF token missing, foreign origin).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such topology, node or route (or it belongs to another organisation).
    #[error("{0}")]
    NotFound(String),
    /// 409: the change conflicts with existing state.
    #[error("{0}")]
    Conflict(String),
    /// 429: too many attempts; retry after this many seconds.
    #[error("too many attempts; try again in {0} s")]
    TooManyRequests(u64),
    /// 503: a dependency (the database) is unavailable; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure; details go to the log, not the client.
    #[error("internal error")]
    Internal(String),
}

impl From<scope_store::StoreError> for ApiError {
    fn from(e: scope_store::StoreError) -> ApiError {
        use scope_store::StoreError as E;
        match e {
            E::NotFound => ApiError::NotFound("not found".into()),
            E::Conflict(m) => ApiError::Conflict(m),
            E::Invalid(m) => ApiError::BadRequest(m),
            E::Database(e) => ApiError::Unavailable(format!("database unavailable: {e}")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(detail) => {
                tracing::error!("dependency unavailable answering a request: {detail}");
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(detail) => {
                tracing::error!("internal error answering a request: {detail}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &self {
            // The driver's message may name hosts and users: keep it in the log.
            ApiError::Unavailable(_) => "the database is unavailable; try again shortly".to_owned(),
            other => other.to_string(),
        };
        let mut resp = (status, Json(json!({ "error": message }))).into_response();
        if let ApiError::TooManyRequests(secs) = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

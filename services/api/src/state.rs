//! Shared state of the API and how a request's tenant is found.

use std::sync::{Arc, RwLock};

use axum::http::request::Parts;
use scope_collector::{Collectors, TenantCollector, TenantId};
use serde::Serialize;

use crate::accounts::{Accounts, RequestCtx};
use crate::error::ApiError;
use crate::views::RenderCache;

/// How requests are authenticated and which tenant they belong to.
#[derive(Clone)]
pub enum Access {
    /// `scope launch`: one tenant, no accounts; only loopback clients (see `guard`).
    Local(TenantId),
    /// The cloud tier: users sign in; the tenant is the organisation of the session.
    Accounts(Arc<Accounts>),
}

/// A newer version, as the checkpoint reported it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NewVersion {
    /// The version.
    pub version: String,
    /// Where to get it.
    #[serde(rename = "downloadUrl")]
    pub download_url: String,
}

/// Facts about this app process for `GET /api`.
#[derive(Debug, Clone)]
pub struct AppInfo {
    /// Random id of this app process.
    pub id: String,
    /// Version.
    pub version: String,
    /// Host name of the app.
    pub hostname: String,
}

/// State shared by every handler.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) collectors: Collectors,
    pub(crate) access: Access,
    pub(crate) info: Arc<AppInfo>,
    pub(crate) new_version: Arc<RwLock<Option<NewVersion>>>,
    pub(crate) cache: RenderCache,
}

impl ApiState {
    /// State over `collectors`, authenticating requests as `access` says.
    pub fn new(collectors: Collectors, access: Access, info: AppInfo) -> ApiState {
        ApiState {
            collectors,
            access,
            info: Arc::new(info),
            new_version: Arc::default(),
            cache: RenderCache::default(),
        }
    }

    /// Records a newer version reported by the checkpoint (shown in `/api` as `newVersion`).
    pub fn set_new_version(&self, v: Option<NewVersion>) {
        *self.new_version.write().expect("lock poisoned") = v;
    }

    /// The collector of the request's tenant, as the authentication middleware resolved it.
    pub(crate) fn collector_for(&self, parts: &Parts) -> Result<TenantCollector, ApiError> {
        let ctx = parts.extensions.get::<RequestCtx>().ok_or_else(|| {
            ApiError::Internal("route reached without the authentication middleware".into())
        })?;
        Ok(self.collectors.tenant(&ctx.tenant()?))
    }
}

//! Shared state of the API and how a request's tenant is found.

use std::sync::{Arc, RwLock};

use axum::http::request::Parts;
use scope_collector::{Collectors, TenantCollector, TenantId};
use serde::Serialize;

use crate::error::ApiError;
use crate::views::RenderCache;

/// Resolves the tenant of an HTTP request from its credentials. `scope launch` has one tenant;
/// the cloud tier resolves it from the session cookie. Never from a header a client can set.
pub trait RequestTenant: Send + Sync + 'static {
    /// The tenant of the request, or why it has none.
    fn tenant(&self, parts: &Parts) -> Result<TenantId, ApiError>;
}

/// Every request belongs to one fixed tenant (`scope launch` on loopback).
pub struct SingleTenant(pub TenantId);

impl RequestTenant for SingleTenant {
    fn tenant(&self, _parts: &Parts) -> Result<TenantId, ApiError> {
        Ok(self.0.clone())
    }
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
    pub(crate) tenancy: Arc<dyn RequestTenant>,
    pub(crate) info: Arc<AppInfo>,
    pub(crate) new_version: Arc<RwLock<Option<NewVersion>>>,
    pub(crate) cache: RenderCache,
}

impl ApiState {
    /// State over `collectors`, resolving tenants with `tenancy`.
    pub fn new(collectors: Collectors, tenancy: Arc<dyn RequestTenant>, info: AppInfo) -> ApiState {
        ApiState {
            collectors,
            tenancy,
            info: Arc::new(info),
            new_version: Arc::default(),
            cache: RenderCache::default(),
        }
    }

    /// Records a newer version reported by the checkpoint (shown in `/api` as `newVersion`).
    pub fn set_new_version(&self, v: Option<NewVersion>) {
        *self.new_version.write().expect("lock poisoned") = v;
    }

    pub(crate) fn collector_for(&self, parts: &Parts) -> Result<TenantCollector, ApiError> {
        let tenant = self.tenancy.tenant(parts)?;
        Ok(self.collectors.tenant(&tenant))
    }
}

//! scope-checkpoint: the anonymous version check ("checkpoint") run by both the probe and the
//! app, modelled on HashiCorp/Weaveworks go-checkpoint.
//!
//! The request carries only the product, its version, the platform, a few flags and a hashed
//! machine fingerprint. Setting `CHECKPOINT_DISABLE` to any non-empty value turns it off
//! entirely: no client is built and no request is made.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rand::Rng;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Checkpoint service used when the caller does not override `base_url`.
pub const DEFAULT_CHECKPOINT_URL: &str = "https://checkpoint-api.weave.works";
/// Nominal time between two checks of the periodic runner (each wait is jittered).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(6 * 60 * 60);
/// Per-request timeout, so a black-holed checkpoint server never wedges the runner.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Environment variable that opts out of the check when set to a non-empty value.
pub const DISABLE_ENV: &str = "CHECKPOINT_DISABLE";

const USER_AGENT: &str = concat!("scope-checkpoint/", env!("CARGO_PKG_VERSION"));

/// What to report to the checkpoint service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckParams {
    /// `"scope-probe"` or `"scope-app"`.
    pub product: String,
    /// Version of the running binary.
    pub version: String,
    /// Base URL of the service, normally [`DEFAULT_CHECKPOINT_URL`].
    pub base_url: String,
    /// Extra flags, sent as `flag_<key>=<value>`; they override the built-in
    /// `kernel-version` and `os` flags on a key clash.
    pub flags: Vec<(String, String)>,
}

impl CheckParams {
    /// Params for `product` at `version` against the default service, without extra flags.
    pub fn new(product: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            product: product.into(),
            version: version.into(),
            base_url: DEFAULT_CHECKPOINT_URL.to_owned(),
            flags: Vec::new(),
        }
    }
}

/// Answer of the checkpoint service (go-checkpoint `CheckResponse`). Every field defaults when
/// missing, because the service has changed shape over the years and a partial answer is
/// still useful.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckResponse {
    pub product: String,
    pub current_version: String,
    /// Unix seconds.
    pub current_release_date: i64,
    pub current_download_url: String,
    pub current_changelog_url: String,
    pub project_website: String,
    /// True when `current_version` is newer than the version that asked.
    pub outdated: bool,
    pub alerts: Vec<CheckAlert>,
}

/// A security or informational alert attached to a [`CheckResponse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckAlert {
    pub id: i64,
    /// Unix seconds.
    pub date: i64,
    pub message: String,
    pub url: String,
    pub level: String,
}

/// Why a check failed. The periodic runner only logs these.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The checker was built disabled; no request was made.
    #[error("checkpoint is disabled")]
    Disabled,
    #[error("invalid checkpoint url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("failed to build http client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("checkpoint request failed: {0}")]
    Request(#[source] reqwest::Error),
    #[error("checkpoint server answered {0}")]
    Status(reqwest::StatusCode),
    #[error("invalid checkpoint response: {0}")]
    Decode(#[source] serde_json::Error),
}

/// Whether a `CHECKPOINT_DISABLE` value opts out: any non-empty value does.
pub fn disabled_by(env_value: Option<&str>) -> bool {
    env_value.is_some_and(|v| !v.is_empty())
}

/// Reads `CHECKPOINT_DISABLE` from the process environment (see [`disabled_by`]).
pub fn checkpoint_disabled_from_env() -> bool {
    // A non-UTF-8 value is still "set to something", so it disables too.
    std::env::var_os(DISABLE_ENV).is_some_and(|v| !v.is_empty())
}

/// Performs checks for one set of params. Built disabled, it never touches the network.
#[derive(Debug, Clone)]
pub struct Checker {
    /// `None` when disabled: no client is even built, so a disabled checker needs no TLS
    /// provider and cannot make a request by accident.
    inner: Option<(reqwest::Client, Url)>,
}

impl Checker {
    /// Builds a checker; `disabled` is normally [`checkpoint_disabled_from_env`]. The request
    /// URL (fingerprint included) is computed once here, as none of it changes at runtime.
    pub fn new(params: &CheckParams, disabled: bool) -> Result<Self, CheckError> {
        if disabled {
            return Ok(Self { inner: None });
        }
        let url = request_url(params, &kernel_version(), &machine_signature())?;
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(CheckError::Client)?;
        Ok(Self {
            inner: Some((client, url)),
        })
    }

    /// True when built disabled.
    pub fn is_disabled(&self) -> bool {
        self.inner.is_none()
    }

    /// Makes one check request.
    pub async fn check(&self) -> Result<CheckResponse, CheckError> {
        let (client, url) = self.inner.as_ref().ok_or(CheckError::Disabled)?;
        let resp = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(CheckError::Request)?;
        if !resp.status().is_success() {
            return Err(CheckError::Status(resp.status()));
        }
        let body = resp.bytes().await.map_err(CheckError::Request)?;
        serde_json::from_slice(&body).map_err(CheckError::Decode)
    }

    /// Runs the check once now, then every `interval` staggered by [`jittered`], calling
    /// `on_result` with each successful answer. Returns `None` (and does nothing) when
    /// disabled. Must be called within a tokio runtime.
    pub fn spawn(
        self,
        interval: Duration,
        on_result: impl Fn(&CheckResponse) + Send + Sync + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if self.is_disabled() {
            return None;
        }
        Some(tokio::spawn(async move {
            loop {
                match self.check().await {
                    Ok(resp) => {
                        if resp.outdated && resp.current_download_url.is_empty() {
                            tracing::info!(
                                "scope version {} is available; please update",
                                resp.current_version
                            );
                        } else if resp.outdated {
                            tracing::info!(
                                "scope version {} is available; please update at {}",
                                resp.current_version,
                                resp.current_download_url
                            );
                        }
                        on_result(&resp);
                    }
                    Err(err) => tracing::warn!(error = %err, "checkpoint version check failed"),
                }
                tokio::time::sleep(jittered(interval)).await;
            }
        }))
    }
}

/// Starts the periodic check with [`DEFAULT_INTERVAL`], honouring `CHECKPOINT_DISABLE`.
/// Returns `None` when disabled or when the checker cannot be built (logged). Must be called
/// within a tokio runtime, after the binary has installed its rustls crypto provider.
pub fn spawn(
    params: CheckParams,
    on_result: impl Fn(&CheckResponse) + Send + Sync + 'static,
) -> Option<tokio::task::JoinHandle<()>> {
    match Checker::new(&params, checkpoint_disabled_from_env()) {
        Ok(checker) => checker.spawn(DEFAULT_INTERVAL, on_result),
        Err(err) => {
            tracing::warn!(error = %err, "cannot start checkpoint version check");
            None
        }
    }
}

/// A wait uniformly drawn from [3/4, 5/4] of `interval`, so a fleet of probes started
/// together does not hit the service in lockstep.
pub fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(rand::rng().random_range(0.75..=1.25))
}

/// Builds the answer the checkpoint service would give a `product` running `running_version`
/// when `latest_version` is current; used by the app's own server side.
pub fn check_response_for(
    product: &str,
    running_version: &str,
    latest_version: &str,
    download_url: &str,
) -> CheckResponse {
    CheckResponse {
        product: product.to_owned(),
        current_version: latest_version.to_owned(),
        current_download_url: download_url.to_owned(),
        outdated: version_newer(latest_version, running_version),
        ..CheckResponse::default()
    }
}

/// Whether version `a` is newer than `b`, comparing dotted numeric parts (missing parts count
/// as 0, a leading `v` is ignored). A pre-release / build suffix (`-rc1`, `+meta`) only breaks
/// ties: the plain release is newer than its pre-releases, and two suffixed versions with the
/// same numbers are not ordered, so nobody is told to "update" sideways.
pub fn version_newer(a: &str, b: &str) -> bool {
    let (na, pa) = split_version(a);
    let (nb, pb) = split_version(b);
    let len = na.len().max(nb.len());
    let part = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    match (0..len)
        .map(|i| part(&na, i).cmp(&part(&nb, i)))
        .find(|o| o.is_ne())
    {
        Some(order) => order.is_gt(),
        None => !pa && pb,
    }
}

/// Numeric parts of a version and whether it carried a pre-release/build suffix. Non-numeric
/// parts count as 0 so odd versions ("dev") compare as oldest instead of failing.
fn split_version(v: &str) -> (Vec<u64>, bool) {
    let v = v.trim().trim_start_matches('v');
    let (core, suffixed) = match v.find(['-', '+']) {
        Some(i) => (&v[..i], true),
        None => (v, false),
    };
    let nums = core.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    (nums, suffixed)
}

/// `{base}/v1/check/{product}?version=..&arch=..&os=..&signature=..&flag_*=..`, with the
/// built-in flags first so the caller's flags can override them.
fn request_url(params: &CheckParams, kernel: &str, signature: &str) -> Result<Url, CheckError> {
    let invalid = |reason: String| CheckError::InvalidUrl {
        url: params.base_url.clone(),
        reason,
    };
    let mut url = Url::parse(&params.base_url).map_err(|e| invalid(e.to_string()))?;
    url.path_segments_mut()
        .map_err(|()| invalid("cannot be a base".into()))?
        .pop_if_empty()
        .extend(["v1", "check", &params.product]);
    let mut flags = BTreeMap::from([
        ("kernel-version".to_owned(), kernel.to_owned()),
        ("os".to_owned(), go_os().to_owned()),
    ]);
    flags.extend(params.flags.iter().cloned());
    let mut query = url.query_pairs_mut();
    query
        .append_pair("version", &params.version)
        .append_pair("arch", go_arch())
        .append_pair("os", go_os())
        .append_pair("signature", signature);
    for (k, v) in &flags {
        query.append_pair(&format!("flag_{k}"), v);
    }
    drop(query);
    Ok(url)
}

/// Architecture in Go's `GOARCH` naming, which the checkpoint service expects.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// Operating system in Go's `GOOS` naming.
pub fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// Kernel release (as `uname -r`), empty if unreadable: it is only an informative flag.
fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Anonymous, stable machine fingerprint: hex SHA-256 of the DMI product UUID, else of
/// `/etc/machine-id`, else empty. The raw id is never sent.
pub fn machine_signature() -> String {
    signature_from(&[
        Path::new("/sys/class/dmi/id/product_uuid"),
        Path::new("/etc/machine-id"),
    ])
}

/// Hashes the first readable, non-empty file of `paths`.
fn signature_from(paths: &[&Path]) -> String {
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
        .map(|id| hex::encode(Sha256::digest(id.as_bytes())))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;

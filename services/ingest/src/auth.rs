//! Service-token authentication for probes.

use std::future::Future;
use std::pin::Pin;

use scope_collector::TenantId;
use sha2::{Digest, Sha256};

/// The token could not be checked (e.g. the database is down). Not a verdict on the token:
/// a new stream is refused with UNAVAILABLE so the probe retries, an open one is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot check the service token: {0}")]
pub struct ResolveError(pub String);

/// What [`TokenResolver::resolve`] returns: the tenant, `Ok(None)` for a token that is unknown
/// or revoked, or an error when that cannot be told right now.
pub type ResolveFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<TenantId>, ResolveError>> + Send + 'a>>;

/// Resolves a probe's service token to its tenant. One implementation holds the tokens of
/// `scope launch`; the cloud tier's looks them up in its store. Ingest asks again every second
/// or two while a stream is open, so a revoked token stops its probes promptly: answers must
/// not be cached for longer than that.
pub trait TokenResolver: Send + Sync + 'static {
    /// The tenant owning `token`; `Ok(None)` when the token is unknown or revoked.
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a>;
}

/// SHA-256 of a token, hex-encoded. Tokens are high-entropy random strings, so a fast hash is the
/// right tool (no salt or key stretching needed); only hashes are kept in memory or storage.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fixed set of tokens for one tenant, held hashed.
pub struct StaticTokens {
    tenant: TenantId,
    hashes: Vec<[u8; 32]>,
}

impl StaticTokens {
    /// Tokens (in clear, e.g. generated at start) that all belong to `tenant`.
    pub fn new<I, S>(tenant: TenantId, tokens: I) -> StaticTokens
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        StaticTokens {
            tenant,
            hashes: tokens
                .into_iter()
                .map(|t| Sha256::digest(t.as_ref().as_bytes()).into())
                .collect(),
        }
    }
}

impl TokenResolver for StaticTokens {
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a> {
        let h: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Compare every stored hash in full so timing does not reveal which bytes matched.
        let found = self
            .hashes
            .iter()
            .fold(false, |acc, k| acc | constant_time_eq(k, &h));
        let tenant = found.then(|| self.tenant.clone());
        Box::pin(async move { Ok(tenant) })
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_tokens_resolve_only_known_tokens() {
        let t = StaticTokens::new(TenantId::new("local"), ["s3cret-token"]);
        assert_eq!(
            t.resolve("s3cret-token").await,
            Ok(Some(TenantId::new("local")))
        );
        assert_eq!(t.resolve("s3cret-tokem").await, Ok(None));
        assert_eq!(t.resolve("").await, Ok(None));
        assert_eq!(hash_token("abc").len(), 64);
    }
}

/// Tokens looked up in the store: the cloud tier's resolver. A revoked token stops resolving at
/// once (there is no cache to go stale).
pub struct StoreTokens {
    store: scope_store::Store,
}

impl StoreTokens {
    /// Resolves tokens against `store`.
    pub fn new(store: scope_store::Store) -> StoreTokens {
        StoreTokens { store }
    }
}

impl TokenResolver for StoreTokens {
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a> {
        Box::pin(async move {
            match self.store.resolve_token(token).await {
                Ok(found) => Ok(found.map(|(org, _)| TenantId::new(org.to_string()))),
                // Not a verdict: the caller decides (refuse a new stream, keep an open one).
                Err(e) => Err(ResolveError(e.to_string())),
            }
        })
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;

    #[tokio::test]
    async fn store_tokens_resolve_to_their_org_until_revoked() {
        let store = scope_store::Store::connect("sqlite::memory:")
            .await
            .unwrap();
        let a = store.create_org("Org A").await.unwrap();
        let b = store.create_org("Org B").await.unwrap();
        let (info, clear) = store.create_token(&a.id, "prod", None).await.unwrap();
        let (_, clear_b) = store.create_token(&b.id, "prod", None).await.unwrap();
        let r = StoreTokens::new(store.clone());
        assert_eq!(
            r.resolve(&clear).await,
            Ok(Some(TenantId::new(a.id.to_string())))
        );
        assert_eq!(
            r.resolve(&clear_b).await,
            Ok(Some(TenantId::new(b.id.to_string())))
        );
        assert_eq!(r.resolve("scope_not-a-token").await, Ok(None));
        // Org B cannot revoke org A's token by its id; org A can.
        assert!(store.revoke_token(&b.id, &info.id).await.is_err());
        assert!(r.resolve(&clear).await.unwrap().is_some());
        store.revoke_token(&a.id, &info.id).await.unwrap();
        assert_eq!(r.resolve(&clear).await, Ok(None));
        assert!(r.resolve(&clear_b).await.unwrap().is_some());
        // A closed database is "cannot check", not "revoked".
        store.close().await;
        assert!(r.resolve(&clear_b).await.is_err());
    }
}

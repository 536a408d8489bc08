//! Signed session tokens. The token is a JWT (HS256) so every replica can check it without a
//! shared cache; it names a server-side session, so revocation (sign-out, password change) is
//! still immediate: the API checks the session id in the store on every request.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::secret::random_token;

/// Least key material accepted, in bytes (HS256 wants at least the hash size).
const MIN_KEY_BYTES: usize = 32;

/// Why a configured key is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Too little key material.
    #[error(
        "the session key must be at least {MIN_KEY_BYTES} bytes (e.g. 64 hex characters from `openssl rand -hex 32`)"
    )]
    TooShort,
}

/// A key signing (and checking) session tokens. Comes from configuration; there is no built-in
/// key, so a fresh install cannot mint tokens an attacker could forge with a published default.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<elided>)")
    }
}

impl SessionKey {
    /// A key from configuration text: hex (64 characters or more, decoded) or any other string of
    /// at least 32 bytes (used as is).
    pub fn parse(text: &str) -> Result<SessionKey, KeyError> {
        let text = text.trim();
        let bytes = if text.len() >= 2 * MIN_KEY_BYTES && text.len().is_multiple_of(2) {
            hex::decode(text).unwrap_or_else(|_| text.as_bytes().to_vec())
        } else {
            text.as_bytes().to_vec()
        };
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort);
        }
        Ok(SessionKey(bytes))
    }
}

/// What a session token says. Times are unix seconds (JWT convention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The server-side session id (a secret: only its hash is stored).
    pub sid: String,
    /// The organisation the user is looking at.
    pub org: String,
    /// This session's CSRF secret, which state-changing requests echo in a header.
    pub csrf: String,
    /// When this token was issued.
    pub iat: i64,
    /// When this token expires (idle timeout; renewed while the user is active).
    pub exp: i64,
    /// When the user signed in: the session ends `absolute` after it whatever the activity.
    pub auth: i64,
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// A token expires this long after it was issued (seconds).
    pub idle_secs: i64,
    /// No renewal goes past this long after sign-in (seconds).
    pub absolute_secs: i64,
}

impl Default for SessionTimes {
    fn default() -> Self {
        SessionTimes {
            idle_secs: 12 * 3600,
            absolute_secs: 7 * 24 * 3600,
        }
    }
}

/// Why a token is refused. The API answers all of these with the same 401 so a client learns
/// nothing about which check failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    /// Not a token signed by any of our keys, or malformed.
    #[error("invalid session token")]
    Invalid,
    /// Signed by us but past its expiry.
    #[error("session expired")]
    Expired,
}

/// Issues and checks session tokens. The first key signs; every key verifies, so a key can be
/// rotated by putting the new one first and keeping the old one until its tokens have expired.
#[derive(Clone)]
pub struct SessionCodec {
    signing: EncodingKey,
    verifying: Vec<DecodingKey>,
    validation: Validation,
    times: SessionTimes,
}

impl SessionCodec {
    /// A codec signing with `current` and also accepting tokens signed with `previous`.
    pub fn new(current: &SessionKey, previous: &[SessionKey], times: SessionTimes) -> SessionCodec {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the caller's clock, so tests can move time.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["sub", "exp", "iat"]);
        SessionCodec {
            signing: EncodingKey::from_secret(&current.0),
            verifying: std::iter::once(current)
                .chain(previous)
                .map(|k| DecodingKey::from_secret(&k.0))
                .collect(),
            validation,
            times,
        }
    }

    /// The configured durations.
    pub fn times(&self) -> SessionTimes {
        self.times
    }

    /// Claims for a fresh sign-in at `now` (unix seconds), with a new CSRF secret.
    pub fn new_claims(&self, user: &str, sid: &str, org: &str, now: i64) -> Claims {
        Claims {
            sub: user.to_owned(),
            sid: sid.to_owned(),
            org: org.to_owned(),
            csrf: random_token(24),
            iat: now,
            exp: now + self.times.idle_secs.min(self.times.absolute_secs),
            auth: now,
        }
    }

    /// When the server-side session of a sign-in at `auth` must end (unix seconds).
    pub fn session_end(&self, auth: i64) -> i64 {
        auth + self.times.absolute_secs
    }

    /// Signs `claims`.
    pub fn issue(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.signing)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks a token's signature and expiry at `now` (unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, SessionError> {
        let claims = self
            .verifying
            .iter()
            .find_map(|k| jsonwebtoken::decode::<Claims>(token, k, &self.validation).ok())
            .map(|d| d.claims)
            .ok_or(SessionError::Invalid)?;
        if claims.exp <= now || claims.auth + self.times.absolute_secs <= now {
            return Err(SessionError::Expired);
        }
        Ok(claims)
    }

    /// Whether a valid token should be replaced by a fresh one: past the middle of its life, and
    /// the session still has time left.
    pub fn needs_renewal(&self, claims: &Claims, now: i64) -> bool {
        now >= claims.iat + (claims.exp - claims.iat) / 2
            && claims.exp < self.session_end(claims.auth)
    }

    /// `claims` re-issued at `now`, for the same session and CSRF secret.
    pub fn renewed(&self, claims: &Claims, now: i64) -> Claims {
        Claims {
            iat: now,
            exp: (now + self.times.idle_secs).min(self.session_end(claims.auth)),
            ..claims.clone()
        }
    }

    /// `claims` with another current organisation (same session and CSRF secret).
    pub fn with_org(&self, claims: &Claims, org: &str, now: i64) -> Claims {
        Claims {
            org: org.to_owned(),
            ..self.renewed(claims, now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> SessionKey {
        SessionKey::parse(&c.to_string().repeat(64)).unwrap()
    }

    #[test]
    fn keys_must_be_long_enough() {
        assert_eq!(SessionKey::parse("short").unwrap_err(), KeyError::TooShort);
        assert_eq!(
            SessionKey::parse(&"ab".repeat(15)).unwrap_err(),
            KeyError::TooShort
        );
        // 64 hex characters decode to 32 bytes.
        assert!(SessionKey::parse(&"0f".repeat(32)).is_ok());
        assert!(SessionKey::parse("a passphrase that is long enough to be a key").is_ok());
    }

    #[test]
    fn tokens_verify_only_with_our_keys_and_until_expiry() {
        let codec = SessionCodec::new(&key('a'), &[], SessionTimes::default());
        let claims = codec.new_claims("user-1", "sid-1", "org-1", 1_000);
        let token = codec.issue(&claims);
        assert_eq!(codec.verify(&token, 1_001).unwrap(), claims);
        // Expired after the idle time.
        assert_eq!(
            codec.verify(&token, 1_000 + 12 * 3600).unwrap_err(),
            SessionError::Expired
        );
        // Another key's tokens are refused, and so is any change to the payload.
        let other = SessionCodec::new(&key('b'), &[], SessionTimes::default());
        assert_eq!(
            other.verify(&token, 1_001).unwrap_err(),
            SessionError::Invalid
        );
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = Claims {
            org: "org-2".into(),
            ..claims.clone()
        };
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json_bytes(&forged),
        );
        assert_eq!(
            codec.verify(&parts.join("."), 1_001).unwrap_err(),
            SessionError::Invalid
        );
        assert_eq!(
            codec.verify("not.a.token", 1_001).unwrap_err(),
            SessionError::Invalid
        );
    }

    fn serde_json_bytes(c: &Claims) -> Vec<u8> {
        // Hand-built JSON keeps serde_json out of the crate's dependencies.
        format!(
            r#"{{"sub":"{}","sid":"{}","org":"{}","csrf":"{}","iat":{},"exp":{},"auth":{}}}"#,
            c.sub, c.sid, c.org, c.csrf, c.iat, c.exp, c.auth
        )
        .into_bytes()
    }

    #[test]
    fn rotation_accepts_previous_keys() {
        let old = SessionCodec::new(&key('a'), &[], SessionTimes::default());
        let token = old.issue(&old.new_claims("u", "s", "o", 10));
        let rotated = SessionCodec::new(&key('b'), &[key('a')], SessionTimes::default());
        assert!(rotated.verify(&token, 11).is_ok());
        let fresh = rotated.issue(&rotated.new_claims("u", "s", "o", 10));
        assert!(old.verify(&fresh, 11).is_err());
    }

    #[test]
    fn renewal_slides_until_the_absolute_limit() {
        let times = SessionTimes {
            idle_secs: 100,
            absolute_secs: 250,
        };
        let codec = SessionCodec::new(&key('a'), &[], times);
        let c = codec.new_claims("u", "s", "o", 0);
        assert!(!codec.needs_renewal(&c, 10));
        assert!(codec.needs_renewal(&c, 50));
        let r = codec.renewed(&c, 60);
        assert_eq!((r.iat, r.exp, r.csrf.as_str()), (60, 160, c.csrf.as_str()));
        let r = codec.renewed(&r, 200);
        assert_eq!(r.exp, 250, "never past sign-in + absolute");
        assert!(!codec.needs_renewal(&r, 240));
        let token = codec.issue(&r);
        assert_eq!(
            codec.verify(&token, 250).unwrap_err(),
            SessionError::Expired
        );
        let switched = codec.with_org(&c, "o2", 20);
        assert_eq!((switched.org.as_str(), switched.sid.as_str()), ("o2", "s"));
    }
}

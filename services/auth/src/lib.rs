//! Authentication building blocks of the app tier, free of HTTP framework and database: signed
//! session tokens (JWT, HS256) with key rotation, the session cookie, CSRF secrets, sign-in rate
//! limiting and the one-time bootstrap secret that sets the first admin.
//!
//! The API crate puts these together with the store: the JWT carries a server-side session id
//! (so signing out is immediate on every replica), the user, the current organisation and the
//! session's CSRF secret.

mod cookie;
mod limiter;
mod secret;
mod session;

pub use cookie::{SESSION_COOKIE, clear_cookie, read_cookie, session_cookie};
pub use limiter::{LimiterConfig, SignInLimiter};
pub use secret::{constant_time_eq, random_token};
pub use session::{Claims, KeyError, SessionCodec, SessionError, SessionKey, SessionTimes};

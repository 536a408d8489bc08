//! The session cookie: `HttpOnly` (no script can read it), `SameSite=Strict` (no other site's
//! page can make the browser send it), `Secure` when the console is served over TLS.

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "scope_session";

/// `Set-Cookie` value carrying `token` for `max_age_secs` seconds.
pub fn session_cookie(token: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age_secs.max(0)
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

/// The value of cookie `name` in a `Cookie` request header (`a=1; b=2`), if present.
pub fn read_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes_and_parsing() {
        let c = session_cookie("abc.def", 3600, false);
        assert_eq!(
            c,
            "scope_session=abc.def; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600"
        );
        assert!(session_cookie("x", 1, true).ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
        assert_eq!(
            read_cookie("a=1; scope_session=tok; b=2", SESSION_COOKIE),
            Some("tok")
        );
        assert_eq!(read_cookie("xscope_session=tok", SESSION_COOKIE), None);
        assert_eq!(read_cookie("", SESSION_COOKIE), None);
    }
}

//! Keeps other web sites out of a loopback-only app. With no user authentication, the only thing
//! between a malicious page in the operator's browser and the API is the browser itself, and two
//! holes remain open there: DNS rebinding (a hostile name that resolves to 127.0.0.1 makes the
//! API same-origin with the attacker's page) and WebSockets, which browsers open across origins.
//! So: the Host must be a loopback name, and a WebSocket's Origin must be the app itself.

use axum::http::{HeaderMap, header};

fn is_loopback_host(host: &str) -> bool {
    // Strip the port: "localhost:4040", "127.0.0.1:4040", "[::1]:4040".
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a request is refused, if it is.
pub(crate) fn check(headers: &HeaderMap) -> Result<(), String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !is_loopback_host(host) {
        return Err(format!(
            "host {host:?} is not a loopback address; this app answers only on 127.0.0.1, localhost or [::1]"
        ));
    }
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if upgrade && let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
        if origin_host != host {
            return Err(format!("websocket from origin {origin:?} refused"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_hosts_pass_and_others_do_not() {
        for ok in [
            "127.0.0.1:4040",
            "localhost:4040",
            "LOCALHOST",
            "[::1]:4040",
            "127.0.0.2",
        ] {
            assert!(check(&headers(&[(header::HOST, ok)])).is_ok(), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:4040",
            "10.0.0.1:4040",
            "",
            "127.0.0.1.evil.example",
        ] {
            assert!(check(&headers(&[(header::HOST, bad)])).is_err(), "{bad}");
        }
    }

    #[test]
    fn websockets_only_from_the_app_itself() {
        let ws = |origin: &str| {
            headers(&[
                (header::HOST, "127.0.0.1:4040"),
                (header::UPGRADE, "websocket"),
                (header::ORIGIN, origin),
            ])
        };
        assert!(check(&ws("http://127.0.0.1:4040")).is_ok());
        assert!(check(&ws("http://evil.example")).is_err());
        assert!(check(&ws("http://localhost:4040")).is_err());
        // Non-browser clients send no Origin.
        let mut h = ws("x");
        h.remove(header::ORIGIN);
        assert!(check(&h).is_ok());
    }
}

//! The console's static files, embedded in the binary: the Vite build (`web/dist/`) when it was
//! built before `cargo build`, else the placeholder page (see `build.rs`).

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "$OUT_DIR/console"]
struct Assets;

/// Vite names bundles by content hash under `assets/`: a new build means new names, so these
/// can be cached for good. Everything else (index.html) must be revalidated to pick up a new build.
fn cache_control(path: &str) -> &'static str {
    if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Serves an embedded file; unknown paths get the console's index page (client-side routing).
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let (path, file) = match Assets::get(path) {
        Some(f) => (path, Some(f)),
        // Only paths without an extension fall back to the app shell; a missing .js is a 404.
        None if !path.rsplit('/').next().unwrap_or("").contains('.') => {
            ("index.html", Assets::get("index.html"))
        }
        None => (path, None),
    };
    match file {
        Some(f) => (
            [
                (header::CONTENT_TYPE, f.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, cache_control(path).to_owned()),
            ],
            f.data,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn index_and_client_routes_get_the_shell() {
        for uri in ["/", "/index.html", "/some/client/route"] {
            let res = serve(uri.parse().expect("uri")).await;
            assert_eq!(res.status(), StatusCode::OK, "{uri}");
            assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "{uri}");
            assert!(
                res.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .expect("ascii")
                    .starts_with("text/html"),
                "{uri}"
            );
        }
    }

    #[tokio::test]
    async fn missing_files_are_404() {
        let res = serve("/assets/nope-123.js".parse().expect("uri")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn hashed_assets_cache_long() {
        assert_eq!(
            cache_control("assets/index-abc.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("index.html"), "no-cache");
    }
}

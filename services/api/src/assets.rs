//! The console's static files, embedded in the binary.

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../../web/placeholder/"]
struct Assets;

/// Serves an embedded file; unknown paths get the console's index page (client-side routing).
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let file = Assets::get(path).or_else(|| {
        // Only paths without an extension fall back to the app shell; a missing .js is a 404.
        (!path.rsplit('/').next().unwrap_or("").contains('.'))
            .then(|| Assets::get("index.html"))
            .flatten()
    });
    match file {
        Some(f) => (
            [
                (header::CONTENT_TYPE, f.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
            ],
            f.data,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

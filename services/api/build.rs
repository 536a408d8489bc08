//! Picks the console to embed: the Vite build in `web/dist/` (made by `scripts/web.sh`). Whichever
//! it is gets copied to `$OUT_DIR/console`, which `src/assets.rs` embeds.
//!
//! Without `web/dist`, a release build fails with the reason: a binary users run, or an image
//! made from it, must never ship a page in place of the console. A debug build embeds
//! `web/placeholder/` instead, a page that says the console is missing, so `cargo build`,
//! `cargo test` and clippy work on a machine without Node.

use std::path::{Path, PathBuf};
use std::{env, fs, io};

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let web = manifest.join("../../web");
    let dist = web.join("dist");
    let placeholder = web.join("placeholder");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("console");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", placeholder.display());
    let source = if dist.join("index.html").is_file() {
        println!("cargo:rerun-if-changed={}", dist.display());
        &dist
    } else if env::var("PROFILE").as_deref() == Ok("release") {
        // `PROFILE` is "release" for every profile that inherits release (bench too).
        return Err(io::Error::other(format!(
            "{} is missing, and a release build must embed the web console: build it first \
             with `scripts/web.sh` (needs Node.js 20.19 or newer), or use `scripts/scope`, \
             which does both",
            dist.display()
        )));
    } else {
        println!(
            "cargo:warning=web/dist is missing: this debug build serves a placeholder page \
             instead of the console (run scripts/web.sh, then build again)"
        );
        // Watching a path that does not exist would rerun this script on every build; watch
        // web/ instead, whose contents change when `npm run build` creates dist/.
        println!("cargo:rerun-if-changed={}", web.display());
        &placeholder
    };

    // Start clean: old hashed bundles must not linger in the binary.
    if out.exists() {
        fs::remove_dir_all(&out)?;
    }
    copy_dir(source, &out)?;
    Ok(())
}

//! Picks the console to embed: the Vite build in `web/dist/` when it exists, else the
//! placeholder page in `web/placeholder/`, so `cargo build` works on a machine without Node.
//! Whichever it is gets copied to `$OUT_DIR/console`, which `src/assets.rs` embeds.

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
    } else {
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

//! `host/src/config.rs` names the directory of the plugins the host's build script compiles
//! (`env!("BROKER_BUILTIN_PLUGIN_DIR")`). The fuzz targets build no plugins; the default plugin
//! directory is only a path in the parsed configuration, so any path will do.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=BROKER_BUILTIN_PLUGIN_DIR=/nonexistent/fuzzing-builds-no-plugins");
}

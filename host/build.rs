//! Builds the provider plugins (`plugins/*`) as wasm32-wasip2 components and installs them into
//! `$OUT_DIR/plugins`, the broker's default plugin directory, so `cargo run -- serve` needs no
//! manual step.

/// Every provider plugin shipped with the broker.
const PROVIDERS: &[&str] = &["qcloud", "alicloud", "tencent", "cds", "bridgx"];

fn main() {
    let built = wasm_build::build_components(PROVIDERS);
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let dir = wasm_build::install_into(&built, &out.join("plugins"));
    println!(
        "cargo:rustc-env=BROKER_BUILTIN_PLUGIN_DIR={}",
        dir.display()
    );
}

//! Builds the test-only plugin components (`tests/plugins/*`) and exposes their paths to the
//! tests as `FIXTURE_<NAME>` environment variables at compile time.

/// Every test fixture plugin; each must be exercised by a test.
const FIXTURES: &[&str] = &["hostile"];

fn main() {
    for built in wasm_build::build_components(FIXTURES) {
        let var = format!("FIXTURE_{}", built.package.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", built.path.display());
    }
}

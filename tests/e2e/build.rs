//! Builds the test-only plugin components (`tests/plugins/*`) and exposes their paths to the
//! tests as `FIXTURE_<NAME>` environment variables at compile time.

/// Every test fixture plugin, with the target sub-directory it needs; each must be exercised by
/// a test. `hostile-v2` builds `hostile` as a dependency without its `export` feature, so it
/// gets a cargo invocation and a target directory of its own: one build would unify the
/// feature back on, a shared directory would overwrite `hostile.wasm`.
const FIXTURES: &[(&str, Option<&str>)] = &[("hostile", None), ("hostile-v2", Some("hostile-v2"))];

fn main() {
    for (fixture, isolated) in FIXTURES {
        for built in wasm_build::build_components_in(&[fixture], *isolated) {
            let var = format!("FIXTURE_{}", built.package.to_uppercase().replace('-', "_"));
            println!("cargo:rustc-env={var}={}", built.path.display());
        }
    }
}

//! Build-script helper: compiles workspace crates into `wasm32-wasip2` components.
//!
//! The broker's plugins are ordinary workspace crates. A build script (the host's for the
//! provider plugins, the e2e tests' for the test fixtures) calls [`build_components`], which runs
//! one nested `cargo build --target wasm32-wasip2 --profile plugin` so that `cargo run` and
//! `cargo test` build the plugins with no manual step. `wasm32-wasip2` emits components directly,
//! so no adapter step is needed.
//!
//! The nested build uses its own target directory (`<target>/wasm-plugins`) so it never waits on
//! the outer build's lock, and it is shared by every caller and profile, so each plugin compiles
//! once. `BROKER_WASM_TARGET_DIR` overrides it: checkouts of the workspace that share one outer
//! `CARGO_TARGET_DIR` (git worktrees) need separate ones, because the components are uplifted
//! under fixed names.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target triple plugins are compiled for.
pub const TARGET: &str = "wasm32-wasip2";
/// The cargo profile plugins are compiled with (defined in the workspace `Cargo.toml`).
pub const PROFILE: &str = "plugin";

/// A component produced by [`build_components`].
#[derive(Debug, Clone)]
pub struct Built {
    /// The cargo package name, e.g. `qcloud`.
    pub package: String,
    /// Absolute path of the built `.wasm` component.
    pub path: PathBuf,
}

/// Builds `packages` (workspace package names) as components and returns their paths.
///
/// Must be called from a build script. Emits `cargo:rerun-if-changed` for the sources that can
/// affect the result (the WIT package, the plugin crates, the SDK, the workspace manifest and
/// lock file). Panics with an actionable message when the build fails, since a build script has
/// no better way to report.
pub fn build_components(packages: &[&str]) -> Vec<Built> {
    build_components_in(packages, None)
}

/// Like [`build_components`], in the sub-directory `isolated` of the shared target directory
/// when given. A package that another one also builds as a dependency with other features
/// needs this: both builds would write its component to the same file.
pub fn build_components_in(packages: &[&str], isolated: Option<&str>) -> Vec<Built> {
    let root = workspace_root();
    for watched in [
        "wit",
        "plugins",
        "tests/plugins",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    println!("cargo:rerun-if-env-changed=BROKER_WASM_TARGET_DIR");

    check_target_installed();

    let target_dir = env::var_os("BROKER_WASM_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"))
                .join("wasm-plugins")
        });
    let target_dir = match isolated {
        Some(sub) => target_dir.join(sub),
        None => target_dir,
    };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--target", TARGET, "--profile", PROFILE])
        .env("CARGO_TARGET_DIR", &target_dir);
    for package in packages {
        cmd.args(["-p", package]);
    }
    // The outer build's flags and wrappers (clippy, coverage, `-C target-cpu=native`) are meant
    // for the host target; they must not leak into the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build the plugin components: {e}"));
    assert!(
        status.success(),
        "building the plugin components ({}) for {TARGET} failed; see the cargo output above",
        packages.join(", ")
    );

    let out = target_dir.join(TARGET).join(PROFILE);
    packages
        .iter()
        .map(|package| {
            let path = out.join(format!("{}.wasm", package.replace('-', "_")));
            assert!(
                path.is_file(),
                "the build succeeded but {} is missing",
                path.display()
            );
            Built {
                package: (*package).to_string(),
                path,
            }
        })
        .collect()
}

/// Copies built components into `dir` as `<package>.wasm` (creating `dir`), removing any other
/// `.wasm` files there so the directory holds exactly `built`. Returns `dir`.
pub fn install_into(built: &[Built], dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("create plugin output directory");
    for entry in std::fs::read_dir(dir).expect("read plugin output directory") {
        let path = entry.expect("read directory entry").path();
        if path.extension().is_some_and(|e| e == "wasm") {
            std::fs::remove_file(&path).expect("remove stale component");
        }
    }
    for b in built {
        let dest = dir.join(format!("{}.wasm", b.package));
        std::fs::copy(&b.path, &dest)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", b.path.display(), dest.display()));
    }
    dir.to_path_buf()
}

/// The workspace root: the nearest ancestor of the calling crate with a `[workspace]` manifest.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(
        env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set for build scripts"),
    );
    manifest_dir
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|text| text.contains("[workspace]"))
        })
        .expect("the calling crate is inside a cargo workspace")
        .to_path_buf()
}

/// Fails early with the fix when the target is missing (rustup normally installs it from
/// `rust-toolchain.toml`, but a toolchain installed some other way may lack it).
fn check_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(sysroot) = sysroot
        && !sysroot.join("lib/rustlib").join(TARGET).is_dir()
    {
        panic!(
            "the {TARGET} target is not installed for this toolchain; run `rustup target add {TARGET}`"
        );
    }
}

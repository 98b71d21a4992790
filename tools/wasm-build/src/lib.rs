//! Build-script helper: compiles workspace crates into `wasm32-wasip2` components.
//!
//! The broker's plugins are ordinary workspace crates. A build script (the host's for the
//! provider plugins, the e2e tests' for the test fixtures) calls [`build_components`], which runs
//! one nested `cargo build --target wasm32-wasip2 --profile plugin` so that `cargo run` and
//! `cargo test` build the plugins with no manual step. `wasm32-wasip2` emits components directly,
//! so no adapter step is needed. A toolchain without the `wasm32-wasip2` standard library gets it
//! from rustup first ([`ensure_target_installed`]).
//!
//! The nested build uses its own target directory (`<target>/wasm-plugins`) so it never waits on
//! the outer build's lock, and it is shared by every caller and profile, so each plugin compiles
//! once. `BROKER_WASM_TARGET_DIR` overrides it: checkouts of the workspace that share one outer
//! `CARGO_TARGET_DIR` (git worktrees) need separate ones, because the components are uplifted
//! under fixed names.

use std::env;
use std::ffi::OsStr;
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

    let target_dir = env::var_os("BROKER_WASM_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"))
                .join("wasm-plugins")
        });
    ensure_target_installed(&target_dir);
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

/// Makes sure the toolchain that compiles us has the [`TARGET`] standard library, adding it with
/// rustup when it is missing.
///
/// rustup installs the targets of `rust-toolchain.toml` only when it installs the toolchain, so
/// a pinned toolchain that was already present (or installed by `rustup toolchain install
/// 1.95.0`) lacks it and the README's first command would fail. The toolchain is named by the
/// sysroot of `$RUSTC`, not by `RUSTUP_TOOLCHAIN`: that variable, which rustup's proxies set for
/// the nested processes, may name a channel (`1.95.0`) that another override resolves
/// differently, while the sysroot is the compiler that actually runs. Panics with what to do
/// when the target cannot be added.
pub fn ensure_target_installed(lock_dir: &Path) {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    if let Err(help) = ensure_target_with(&rustc, OsStr::new("rustup"), lock_dir) {
        panic!("{help}");
    }
}

/// [`ensure_target_installed`] with the compiler and rustup to use; the error says what to do.
fn ensure_target_with(rustc: &OsStr, rustup: &OsStr, lock_dir: &Path) -> Result<(), String> {
    let Some(sysroot) = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    else {
        // No sysroot to look in: let the nested cargo report its own error.
        return Ok(());
    };
    if target_installed(&sysroot) {
        return Ok(());
    }
    let Some(toolchain) = rustup_toolchain(&sysroot) else {
        return Err(missing_target_help(&sysroot, None));
    };
    // Two build scripts (the host's and the e2e tests') may get here at once; rustup must not
    // unpack the same component twice concurrently.
    let _lock = lock_file(lock_dir);
    if target_installed(&sysroot) {
        return Ok(());
    }
    println!("cargo:warning=adding the {TARGET} target to toolchain {toolchain} with rustup");
    let why = match Command::new(rustup)
        .args(["target", "add", "--toolchain", &toolchain, TARGET])
        .status()
    {
        Ok(status) if status.success() && target_installed(&sysroot) => return Ok(()),
        Ok(status) => format!("`rustup target add` failed ({status})"),
        Err(e) => format!("rustup could not be run: {e}"),
    };
    Err(missing_target_help(&sysroot, Some(&why)))
}

/// Whether `sysroot` holds the standard library for [`TARGET`].
fn target_installed(sysroot: &Path) -> bool {
    sysroot.join("lib/rustlib").join(TARGET).is_dir()
}

/// The rustup toolchain name of `sysroot` (`<RUSTUP_HOME>/toolchains/<name>`), `None` for a
/// compiler rustup does not manage (a distribution package, a local build).
fn rustup_toolchain(sysroot: &Path) -> Option<String> {
    let parent = sysroot.parent()?;
    if parent.file_name()? != "toolchains" {
        return None;
    }
    sysroot.file_name()?.to_str().map(str::to_owned)
}

/// What to do when the target is missing and could not be added (`why`: what was tried).
fn missing_target_help(sysroot: &Path, why: Option<&str>) -> String {
    let mut help = format!(
        "the {TARGET} target, which the plugin components are built for, is not installed for the \
         Rust toolchain at {}",
        sysroot.display()
    );
    match (why, rustup_toolchain(sysroot)) {
        (Some(why), Some(toolchain)) => help.push_str(&format!(
            ", and adding it failed: {why}. Run `rustup target add --toolchain {toolchain} {TARGET}` \
             (it needs the network) and build again"
        )),
        (_, _) => help.push_str(
            ", which rustup does not manage. Install the toolchain with rustup \
             (https://rustup.rs reads rust-toolchain.toml and adds the target), or install your \
             distribution's wasm32-wasip2 standard library for this compiler, and build again",
        ),
    }
    help
}

/// An exclusive lock on `<dir>/.rustup-target.lock`, released when dropped. Locking is best
/// effort: without it, the worst case is rustup reporting a concurrent install.
fn lock_file(dir: &Path) -> Option<std::fs::File> {
    std::fs::create_dir_all(dir).ok()?;
    let file = std::fs::File::create(dir.join(".rustup-target.lock")).ok()?;
    file.lock().ok()?;
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toolchain_is_named_by_its_rustup_sysroot() {
        assert_eq!(
            rustup_toolchain(Path::new(
                "/home/u/.rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu"
            ))
            .as_deref(),
            Some("1.95.0-x86_64-unknown-linux-gnu")
        );
        assert_eq!(rustup_toolchain(Path::new("/usr")), None);
        assert_eq!(rustup_toolchain(Path::new("/")), None);
    }

    #[test]
    fn the_help_names_the_command_or_the_alternative() {
        let managed = Path::new("/r/toolchains/1.95.0-x86_64-unknown-linux-gnu");
        let help = missing_target_help(managed, Some("rustup could not be run: not found"));
        assert!(
            help.contains(
                "rustup target add --toolchain 1.95.0-x86_64-unknown-linux-gnu wasm32-wasip2"
            ),
            "{help}"
        );
        assert!(help.contains("not found"), "{help}");
        let help = missing_target_help(Path::new("/usr"), None);
        assert!(help.contains("rustup does not manage"), "{help}");
        assert!(help.contains("/usr"), "{help}");
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_rustup_is_reported_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        // A sysroot laid out like rustup's but without the target, and no rustup to add it.
        let root = env::temp_dir().join(format!("wasm-build-test-{}", std::process::id()));
        let sysroot = root.join("toolchains/fake-toolchain");
        std::fs::create_dir_all(sysroot.join("lib/rustlib")).unwrap();
        let fake_rustc = root.join("rustc");
        std::fs::write(
            &fake_rustc,
            format!("#!/bin/sh\necho {}\n", sysroot.display()),
        )
        .unwrap();
        std::fs::set_permissions(&fake_rustc, std::fs::Permissions::from_mode(0o755)).unwrap();

        let outcome = ensure_target_with(
            fake_rustc.as_os_str(),
            root.join("no-such-rustup").as_os_str(),
            &root,
        );
        std::fs::remove_dir_all(&root).unwrap();
        let help = outcome.unwrap_err();
        assert!(help.contains("rustup could not be run"), "{help}");
        assert!(
            help.contains("rustup target add --toolchain fake-toolchain wasm32-wasip2"),
            "{help}"
        );
    }
}

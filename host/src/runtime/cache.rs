//! On-disk cache of compiled components, keyed by the component's SHA-256 and the engine's
//! compatibility hash, so a restart (or another broker on the same disk) does not recompile.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Loaded from the cache: no compilation.
    Cache,
    /// Compiled now (and written to the cache).
    Compiled,
}

/// The compiled-component cache directory.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    /// A cache in `dir` (created with mode 0700 if missing: other local users must not swap
    /// the compiled code the broker runs).
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        broker_store::files::create_private_dir(dir)
            .with_context(|| format!("creating cache directory {}", dir.display()))?;
        if let Some(mode) = broker_store::files::loose_mode(dir) {
            tracing::warn!(
                cache_dir = %dir.display(),
                "the component cache directory has mode {mode:o}; `chmod 700` it"
            );
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// SHA-256 of a component's bytes, lower-case hex.
    pub fn content_hash(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// Returns the compiled component for `bytes`, from the cache when possible. Blocking
    /// (compilation takes CPU seconds): call it off the async executor.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> anyhow::Result<(Component, Origin)> {
        let path = self.path_for(engine, bytes);
        if path.is_file() {
            match deserialize(engine, &path) {
                Ok(component) => return Ok((component, Origin::Cache)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "cached component unusable; recompiling"
                ),
            }
        }
        let compiled = engine.precompile_component(bytes)?;
        // Unique per writer: several brokers (or test threads) may compile the same component.
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
        std::fs::write(&tmp, &compiled).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok((deserialize(engine, &path)?, Origin::Compiled))
    }

    fn path_for(&self, engine: &Engine, bytes: &[u8]) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_hash = hasher.finish();
        self.dir.join(format!(
            "{}-{engine_hash:016x}.cwasm",
            Self::content_hash(bytes)
        ))
    }
}

#[expect(
    unsafe_code,
    reason = "deserializing trusts the file to be wasmtime output: it is, the broker wrote it to its own cache directory, named by content and engine hash"
)]
fn deserialize(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    // SAFETY: see the `expect` reason above; wasmtime still checks the header and version.
    Ok(unsafe { Component::deserialize_file(engine, path) }?)
}

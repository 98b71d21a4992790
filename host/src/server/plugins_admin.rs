//! Plugin lifecycle for operators, behind the admin key: list the loaded plugins and every
//! version loaded since start (`GET /admin/plugins`), upload a component that adds or replaces
//! a plugin with no failed requests (`PUT /admin/plugins/{name}`), remove one
//! (`DELETE /admin/plugins/{name}`).
//!
//! An upload is compiled off the async workers within `limits.compile_secs`, checked against
//! the `provider` world and its manifest validated — exactly like a plugin loaded at start — and
//! only then swapped in. Requests in flight finish on the version they started with. Uploads
//! are written to the plugin directory (`<name>.wasm`, atomically), so a restart serves them too.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::AppState;
use super::error::{ApiError, internal};
use crate::runtime::{Install, LoadedPlugin};

/// The plugin lifecycle routes (the caller adds the admin-key check).
pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/plugins", get(list)).route(
        "/admin/plugins/{name}",
        get(show).put(upload).delete(remove),
    )
}

fn summary(plugin: &LoadedPlugin) -> serde_json::Value {
    json!({
        "name": plugin.manifest.name,
        "version": plugin.manifest.version,
        "sha256": plugin.sha256,
        "source": plugin.source,
        "route_prefixes": plugin.manifest.route_prefixes,
    })
}

/// `GET /admin/plugins`: the plugins serving now, and every version of each loaded since start.
async fn list(State(state): State<AppState>) -> Response {
    let registry = state.runtime.registry();
    let versions = state.runtime.versions();
    let plugins: Vec<_> = versions
        .iter()
        .map(|(name, versions)| {
            let active = registry.plugins().iter().find(|p| &p.manifest.name == name);
            json!({
                "name": name,
                "active": active.map(|p| summary(p)),
                "versions": versions,
            })
        })
        .collect();
    axum::Json(json!({ "plugins": plugins })).into_response()
}

/// `GET /admin/plugins/{name}`: one plugin's active version and history.
async fn show(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let versions = state.runtime.versions().remove(&name);
    let registry = state.runtime.registry();
    let active = registry.plugins().iter().find(|p| p.manifest.name == name);
    match (active, versions) {
        (None, None) => not_found(&name).into_response(),
        (active, versions) => axum::Json(json!({
            "name": name,
            "active": active.map(|p| summary(p)),
            "versions": versions.unwrap_or_default(),
        }))
        .into_response(),
    }
}

/// `PUT /admin/plugins/{name}` with the component's bytes as the body.
async fn upload(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let bytes = match axum::body::to_bytes(request.into_body(), state.upload_limit).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return ApiError::unreadable_body(
                &e,
                format!(
                    "the component is larger than limits.plugin_upload_bytes ({} bytes)",
                    state.upload_limit
                ),
            )
            .into_response();
        }
    };
    if bytes.is_empty() {
        return bad_request("the body must be the plugin's WebAssembly component (it is empty)")
            .into_response();
    }
    let plugin = match state
        .runtime
        .prepare(&bytes, format!("upload of `{name}`"))
        .await
    {
        Ok(plugin) => Arc::new(plugin),
        Err(e) => return bad_request(format!("{e:#}")).into_response(),
    };
    if plugin.manifest.name != name {
        return bad_request(format!(
            "the component's manifest names the plugin `{}`, not `{name}`",
            plugin.manifest.name
        ))
        .into_response();
    }
    let replaced = match state.runtime.install(plugin.clone(), Install::Replace) {
        Ok(replaced) => replaced,
        Err(e) => return ApiError::new(StatusCode::CONFLICT, "conflict", e).into_response(),
    };
    // Serving already; now make a restart serve it too. If that fails, go back to what served
    // before so the broker and its directory agree.
    if let Err(e) = persist(&state.plugin_dir, &name, &bytes, replaced.as_deref()) {
        match &replaced {
            Some(old) => {
                let _ = state.runtime.install(old.clone(), Install::Replace);
            }
            None => {
                state.runtime.remove(&name);
            }
        }
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            internal(
                "could not write the component to the plugin directory",
                &format_args!("{e:#}"),
            ),
        )
        .into_response();
    }
    tracing::info!(
        plugin = %name,
        version = %plugin.manifest.version,
        sha256 = %plugin.sha256,
        replaced = replaced.as_ref().map(|p| p.manifest.version.as_str()).unwrap_or("-"),
        "plugin uploaded and serving"
    );
    let status = if replaced.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (
        status,
        axum::Json(json!({
            "plugin": summary(&plugin),
            "replaced": replaced.as_deref().map(summary),
        })),
    )
        .into_response()
}

/// `DELETE /admin/plugins/{name}`: stop serving it and delete its file from the plugin
/// directory.
async fn remove(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let Some(removed) = state.runtime.remove(&name) else {
        return not_found(&name).into_response();
    };
    for file in plugin_files(&state.plugin_dir, &name, Some(&removed)) {
        if let Err(e) = std::fs::remove_file(&file)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!(plugin = %name, file = %file.display(), "could not delete the plugin file: {e}");
        }
    }
    tracing::info!(plugin = %name, version = %removed.manifest.version, "plugin removed");
    axum::Json(json!({ "removed": summary(&removed) })).into_response()
}

/// Writes `<dir>/<name>.wasm` atomically (temporary file, then rename) and deletes the file the
/// replaced version came from when it was another file of the directory.
fn persist(
    dir: &FsPath,
    name: &str,
    bytes: &[u8],
    replaced: Option<&LoadedPlugin>,
) -> std::io::Result<()> {
    let target = dir.join(format!("{name}.wasm"));
    let temporary = dir.join(format!(".{name}.wasm.uploading"));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, &target)?;
    for old in plugin_files(dir, name, replaced) {
        if old != target {
            std::fs::remove_file(&old)?;
        }
    }
    Ok(())
}

/// The files of the plugin directory that hold `name`: `<name>.wasm` and the file `plugin` was
/// loaded from, when it is in the directory.
fn plugin_files(dir: &FsPath, name: &str, plugin: Option<&LoadedPlugin>) -> Vec<PathBuf> {
    let mut files = vec![dir.join(format!("{name}.wasm"))];
    if let Some(source) = plugin.map(|p| PathBuf::from(&p.source))
        && source.parent() == Some(dir)
        && !files.contains(&source)
    {
        files.push(source);
    }
    files
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_plugin", message)
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no plugin `{name}` is loaded"),
    )
}

//! Fault injection shared by every simulator.
//!
//! Faults are applied to API requests *before* signature verification, in this order: the
//! configured latency first, then the next queued failure, if any. Tests use [`Faults`] directly
//! (`sim.faults().fail_next(1, FaultKind::Http500)`); operators use the HTTP endpoint every
//! simulator serves next to its API:
//!
//! ```text
//! curl -X POST http://127.0.0.1:PORT/_sim/faults -H 'content-type: application/json' \
//!      -d '{"latency_ms": 250, "fail_next": 2, "kind": "http500"}'
//! curl -X POST http://127.0.0.1:PORT/_sim/faults -d '{"clear": true}' -H 'content-type: application/json'
//! curl http://127.0.0.1:PORT/_sim/faults          # current settings
//! ```
//!
//! Every field is optional; `clear` runs first, then `latency_ms`, then `fail_next` + `kind`
//! (`http500`, `bad_json` or `hang`). The answer is the resulting settings as JSON.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// How long a [`FaultKind::Hang`] request is held before the simulator gives up and answers 500.
///
/// Ten minutes is far beyond any client timeout the broker uses, so the client always times out
/// first, which is the behaviour under test.
pub const HANG_DURATION: Duration = Duration::from_secs(600);

/// The path of the fault-control endpoint every simulator serves.
pub const FAULTS_PATH: &str = "/_sim/faults";

/// One kind of injected failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `500 Internal Server Error` with a plain-text body (no provider envelope), as a
    /// failing gateway would.
    Http500,
    /// Answer `200` with `Content-Type: application/json` and a truncated JSON body.
    BadJson,
    /// Hold the request for [`HANG_DURATION`] so the client times out.
    Hang,
}

/// Fault settings of one simulator; shared between the server and the test that owns it.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<FaultState>,
}

#[derive(Debug, Default)]
struct FaultState {
    latency: Duration,
    /// Queued failures, oldest first: (remaining count, kind).
    pending: VecDeque<(u32, FaultKind)>,
}

impl Faults {
    /// No latency, no queued failures.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delay every later API request by `latency` (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// The latency currently added to every API request.
    pub fn latency(&self) -> Duration {
        self.lock().latency
    }

    /// Make the next `n` API requests fail with `kind`, after any failures already queued.
    pub fn fail_next(&self, n: u32, kind: FaultKind) {
        if n > 0 {
            self.lock().pending.push_back((n, kind));
        }
    }

    /// How many queued failures are left.
    pub fn pending(&self) -> u32 {
        self.lock().pending.iter().map(|(n, _)| n).sum()
    }

    /// Remove the latency and every queued failure.
    pub fn clear(&self) {
        *self.lock() = FaultState::default();
    }

    /// Take the latency and the next queued failure for one request.
    fn next(&self) -> (Duration, Option<FaultKind>) {
        let mut state = self.lock();
        let kind = match state.pending.front_mut() {
            Some((n, kind)) => {
                let kind = *kind;
                *n -= 1;
                if *n == 0 {
                    state.pending.pop_front();
                }
                Some(kind)
            }
            None => None,
        };
        (state.latency, kind)
    }

    /// Apply the faults to one API request: sleep for the latency, then return the response
    /// that replaces the real answer, if a failure was queued.
    pub(crate) async fn apply(&self) -> Option<Response> {
        let (latency, kind) = self.next();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match kind? {
            FaultKind::Http500 => {
                Some((StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response())
            }
            FaultKind::BadJson => Some(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"Response":{"RequestId":"#,
                )
                    .into_response(),
            ),
            FaultKind::Hang => {
                tokio::time::sleep(HANG_DURATION).await;
                Some((StatusCode::INTERNAL_SERVER_ERROR, "simulated hang ended").into_response())
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        // The state is always consistent between statements, so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn snapshot(&self) -> FaultSnapshot {
        let state = self.lock();
        FaultSnapshot {
            latency_ms: state.latency.as_millis() as u64,
            pending: state
                .pending
                .iter()
                .map(|&(count, kind)| Pending { count, kind })
                .collect(),
        }
    }
}

/// Body of `POST /_sim/faults`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    #[serde(default)]
    clear: bool,
    latency_ms: Option<u64>,
    fail_next: Option<u32>,
    kind: Option<FaultKind>,
}

#[derive(Serialize)]
struct FaultSnapshot {
    latency_ms: u64,
    pending: Vec<Pending>,
}

#[derive(Serialize)]
struct Pending {
    count: u32,
    kind: FaultKind,
}

/// The `/_sim/faults` routes for one simulator's [`Faults`].
pub(crate) fn routes(faults: Arc<Faults>) -> Router {
    Router::new()
        .route(FAULTS_PATH, get(show).post(update))
        .with_state(faults)
}

async fn show(State(faults): State<Arc<Faults>>) -> Json<FaultSnapshot> {
    Json(faults.snapshot())
}

async fn update(
    State(faults): State<Arc<Faults>>,
    Json(request): Json<FaultRequest>,
) -> Result<Json<FaultSnapshot>, (StatusCode, &'static str)> {
    if request.fail_next.is_some() != request.kind.is_some() {
        return Err((
            StatusCode::BAD_REQUEST,
            "`fail_next` and `kind` go together\n",
        ));
    }
    if request.clear {
        faults.clear();
    }
    if let Some(ms) = request.latency_ms {
        faults.set_latency(Duration::from_millis(ms));
    }
    if let (Some(n), Some(kind)) = (request.fail_next, request.kind) {
        faults.fail_next(n, kind);
    }
    Ok(Json(faults.snapshot()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_failures_are_used_in_order_then_run_out() {
        let faults = Faults::new();
        faults.fail_next(2, FaultKind::Http500);
        faults.fail_next(1, FaultKind::BadJson);
        assert_eq!(faults.pending(), 3);
        let kinds: Vec<_> = (0..4).map(|_| faults.next().1).collect();
        let expected = [
            Some(FaultKind::Http500),
            Some(FaultKind::Http500),
            Some(FaultKind::BadJson),
            None,
        ];
        assert_eq!(kinds, expected);
    }

    #[test]
    fn clear_removes_latency_and_queued_failures() {
        let faults = Faults::new();
        faults.set_latency(Duration::from_millis(5));
        faults.fail_next(3, FaultKind::Hang);
        faults.clear();
        assert_eq!(faults.next(), (Duration::ZERO, None));
    }
}

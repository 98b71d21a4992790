//! The wait of every task-running route, with the operator settings that bound it (declared in
//! the manifest; `[plugin_settings.cds]` overrides the defaults).

use broker_sdk::ErrorMessage;
use broker_sdk::cds::TaskWait;
use broker_sdk::settings::WaitSettings;

/// Every resource route, and the generic route with `wait: true`, waits on its task.
/// Defaults after the official SDK's loop (10 s apart) with a 20 min ceiling, at 5 s apart.
pub const TASK: WaitSettings = WaitSettings::new(
    "task",
    "a route waits for its Capital Online task to finish",
    1200,
    5,
);

/// Every wait, in the order the manifest declares them.
pub const ALL: &[WaitSettings] = &[TASK];

/// The first `DescribeTask` comes this long after the call: an immediate one fails on the real
/// API (terraform-provider-cds 278c00c). Capped by the interval, so short test waits stay short.
pub const FIRST_POLL_DELAY_MS: u64 = 3_000;

/// Transient `DescribeTask` failures (no answer, 5xx) tolerated per wait; the official SDK
/// tolerates 10.
pub const MAX_TRANSIENT_ERRORS: u32 = 10;

/// The task wait in force (operator settings read per request).
pub fn task_wait() -> Result<TaskWait, ErrorMessage> {
    let wait = TASK.read()?;
    Ok(TaskWait {
        first_delay_ms: FIRST_POLL_DELAY_MS.min(wait.interval_ms),
        interval_ms: wait.interval_ms,
        timeout_ms: wait.timeout_ms,
        max_transient_errors: MAX_TRANSIENT_ERRORS,
    })
}

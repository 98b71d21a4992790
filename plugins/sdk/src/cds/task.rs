//! Waiting on a Capital Online task: `DescribeTask` until `FINISH` or `ERROR`.

use std::fmt;

use serde_json::{Map, Value};

use super::{CdsApi, CdsError};
use crate::clock::{Clock, Poll, PollError, poll_until};
use crate::{ErrorMessage, Method};

/// The `TaskId` of an answer, if it started a task (`""` means it did not).
pub fn task_id(answer: &Value) -> Option<String> {
    match answer.get("TaskId").or_else(|| answer.get("TaskID")) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// What `DescribeTask` said about a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    /// `TaskId`.
    pub task_id: String,
    /// `NEW`, `DOING`, `FINISH` or `ERROR` (upper-cased).
    pub status: String,
    /// `ResourceIds`, or `[ResourceId]` when only that is given.
    pub resource_ids: Vec<String>,
    /// `TaskType`.
    pub task_type: String,
}

impl TaskInfo {
    /// Read a `DescribeTask` answer.
    pub fn from_answer(task_id: &str, answer: &Value) -> Self {
        let data = answer.get("Data").unwrap_or(&Value::Null);
        let text = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or_default();
        let mut resource_ids: Vec<String> = data
            .get("ResourceIds")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if resource_ids.is_empty() && !text("ResourceId").is_empty() {
            resource_ids.push(text("ResourceId").to_owned());
        }
        Self {
            task_id: task_id.to_owned(),
            status: text("Status").to_ascii_uppercase(),
            resource_ids,
            task_type: text("TaskType").to_owned(),
        }
    }

    /// The first resource id, if any.
    pub fn resource_id(&self) -> Option<&str> {
        self.resource_ids.first().map(String::as_str)
    }
}

/// How [`wait_task`] waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskWait {
    /// Sleep before the first look (an immediate `DescribeTask` fails on the real API).
    pub first_delay_ms: u64,
    /// Sleep between looks.
    pub interval_ms: u64,
    /// Give up after this much clock time (first delay included).
    pub timeout_ms: u64,
    /// Transient errors (no answer, 5xx) tolerated before giving up.
    pub max_transient_errors: u32,
}

/// Why [`wait_task`] gave up.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskError {
    /// The task ended in `ERROR`.
    Failed(TaskInfo),
    /// It was still running after the timeout; the last status seen.
    TimedOut {
        /// `TaskId`.
        task_id: String,
        /// Last status seen.
        last: String,
        /// The timeout, in ms.
        timeout_ms: u64,
    },
    /// The request's own time ran out first (the broker's wall-clock limit); the task may
    /// still finish.
    OutOfRequestTime {
        /// `TaskId`.
        task_id: String,
        /// Last status seen.
        last: String,
    },
    /// `DescribeTask` failed (a permanent error, or too many transient ones).
    Api(CdsError),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(info) => write!(
                f,
                "Capital Online task {} ({}) ended in ERROR",
                info.task_id,
                if info.task_type.is_empty() {
                    "unknown type"
                } else {
                    &info.task_type
                }
            ),
            TaskError::TimedOut {
                task_id,
                last,
                timeout_ms,
            } => write!(
                f,
                "Capital Online task {task_id} did not finish within {} s (last status {last})",
                timeout_ms / 1000
            ),
            TaskError::OutOfRequestTime { task_id, last } => write!(
                f,
                "stopped waiting for Capital Online task {task_id} (last status {last}): the \
                 request's time limit is nearly spent; the task may still finish, send the input \
                 again to pick it up"
            ),
            TaskError::Api(e) => write!(f, "DescribeTask failed: {e}"),
        }
    }
}

impl From<TaskError> for ErrorMessage {
    fn from(error: TaskError) -> Self {
        ErrorMessage::new(error.to_string())
    }
}

/// Poll `DescribeTask` for `task_id` until `FINISH` (the task's info) or `ERROR`.
pub fn wait_task(
    api: &impl CdsApi,
    clock: &impl Clock,
    task_id: &str,
    wait: TaskWait,
) -> Result<TaskInfo, TaskError> {
    let first = wait.first_delay_ms.min(wait.timeout_ms);
    clock.sleep_ms(first);
    let mut params = Map::new();
    params.insert("TaskId".into(), Value::String(task_id.to_owned()));
    let mut transient = 0u32;
    let outcome = poll_until(
        clock,
        wait.timeout_ms - first,
        wait.interval_ms,
        || match api.call(Method::Get, "ccs", "DescribeTask", &params) {
            Ok(answer) => {
                let info = TaskInfo::from_answer(task_id, &answer);
                match info.status.as_str() {
                    "FINISH" => Ok(Poll::Ready(info)),
                    "ERROR" => Err(TaskError::Failed(info)),
                    other => Ok(Poll::Pending(other.to_owned())),
                }
            }
            Err(e) if e.is_transient() && transient < wait.max_transient_errors => {
                transient += 1;
                Ok(Poll::Pending(format!("unknown ({e})")))
            }
            Err(e) => Err(TaskError::Api(e)),
        },
    );
    outcome.map_err(|e| match e {
        PollError::Failed(e) => e,
        PollError::TimedOut(last) => TaskError::TimedOut {
            task_id: task_id.to_owned(),
            last,
            timeout_ms: wait.timeout_ms,
        },
        PollError::OutOfRequestTime(last) => TaskError::OutOfRequestTime {
            task_id: task_id.to_owned(),
            last,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::{Cell, RefCell};

    struct Fake {
        answers: RefCell<Vec<Result<Value, CdsError>>>,
        calls: Cell<u32>,
    }

    impl CdsApi for Fake {
        fn call(
            &self,
            _: Method,
            product: &str,
            action: &str,
            params: &Map<String, Value>,
        ) -> Result<Value, CdsError> {
            assert_eq!((product, action), ("ccs", "DescribeTask"));
            assert_eq!(params["TaskId"], "t-1");
            self.calls.set(self.calls.get() + 1);
            self.answers.borrow_mut().remove(0)
        }
    }

    struct FakeClock(Cell<u64>);

    impl Clock for FakeClock {
        fn now_ms(&self) -> u64 {
            self.0.get()
        }
        fn sleep_ms(&self, ms: u64) {
            self.0.set(self.0.get() + ms);
        }
    }

    fn status(s: &str) -> Result<Value, CdsError> {
        Ok(json!({"Code": "Success", "Data": {"Status": s, "ResourceId": "r-1", "TaskType": "t"}}))
    }

    const WAIT: TaskWait = TaskWait {
        first_delay_ms: 2_000,
        interval_ms: 5_000,
        timeout_ms: 60_000,
        max_transient_errors: 2,
    };

    #[test]
    fn a_task_is_first_polled_after_the_delay_and_transient_errors_are_tolerated() {
        let fake = Fake {
            answers: RefCell::new(vec![
                status("NEW"),
                Err(CdsError::Http("reset".into())),
                status("doing"),
                status("FINISH"),
            ]),
            calls: Cell::new(0),
        };
        let clock = FakeClock(Cell::new(0));
        let info = wait_task(&fake, &clock, "t-1", WAIT).unwrap();
        assert_eq!(info.resource_ids, ["r-1"]);
        assert_eq!(fake.calls.get(), 4);
        assert_eq!(clock.now_ms(), 2_000 + 3 * 5_000);
    }

    #[test]
    fn error_status_too_many_transient_errors_and_timeout_fail_the_wait() {
        let clock = FakeClock(Cell::new(0));
        let fake = Fake {
            answers: RefCell::new(vec![status("ERROR")]),
            calls: Cell::new(0),
        };
        let e = wait_task(&fake, &clock, "t-1", WAIT).unwrap_err();
        assert_eq!(e.to_string(), "Capital Online task t-1 (t) ended in ERROR");
        let fake = Fake {
            answers: RefCell::new((0..3).map(|_| Err(CdsError::Http("down".into()))).collect()),
            calls: Cell::new(0),
        };
        assert!(matches!(
            wait_task(&fake, &clock, "t-1", WAIT),
            Err(TaskError::Api(_))
        ));
        let fake = Fake {
            answers: RefCell::new((0..20).map(|_| status("DOING")).collect()),
            calls: Cell::new(0),
        };
        let e = wait_task(&fake, &clock, "t-1", WAIT).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Capital Online task t-1 did not finish within 60 s (last status DOING)"
        );
    }
}

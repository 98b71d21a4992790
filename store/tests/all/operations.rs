//! Operations: begin, finish beside the audit row, idempotency keys, cancel, list, restart, purge.

use broker_store::{
    Begun, FinishedOperation, NewOperation, OperationQuery, OperationStatus, StoredResponse,
    UpstreamCall,
};
use time::{Duration, OffsetDateTime};

use crate::audit::record;
use crate::common::TestDb;

backend_tests!(
    a_begun_operation_finishes_with_its_answer_in_the_audit_transaction,
    a_call_never_begun_is_written_whole_when_it_finishes,
    one_idempotency_key_is_one_operation_even_when_requests_race,
    a_cancelled_operation_stays_cancelled_and_is_invisible_to_other_tenants,
    operations_list_newest_first_with_filters_and_pages,
    unfinished_operations_fail_at_restart_and_old_ones_are_purged,
);

fn new_op(tenant: &str, minutes: i64, key: Option<&str>) -> NewOperation {
    NewOperation {
        id: uuid::Uuid::new_v4(),
        tenant: tenant.into(),
        plugin: "qcloud".into(),
        method: "POST".into(),
        path: "/v1/qcloud/vpc/create".into(),
        request_id: format!("req-{minutes}"),
        created_at: OffsetDateTime::from_unix_timestamp(1_600_000_000).unwrap()
            + Duration::minutes(minutes),
        idempotency_key: key.map(str::to_string),
        request_hash: key.map(|_| "hash-1".to_string()),
    }
}

fn finished(op: &NewOperation, status: OperationStatus, body: &[u8]) -> FinishedOperation {
    FinishedOperation {
        operation: op.clone(),
        status,
        finished_at: op.created_at + Duration::seconds(5),
        response: StoredResponse {
            status: 200,
            content_type: Some("application/json".into()),
            body: body.to_vec(),
        },
        error: None,
        upstream_calls: vec![UpstreamCall {
            host: "vpc.tencentcloudapi.com".into(),
            action: Some("CreateVpc".into()),
        }],
    }
}

async fn a_begun_operation_finishes_with_its_answer_in_the_audit_transaction(db: &TestDb) {
    let op = new_op("acme", 0, Some("k1"));
    assert_eq!(db.begin_operation(&op).await.unwrap(), Begun::Started);
    let running = db.operation("acme", op.id).await.unwrap().unwrap();
    assert_eq!(running.status, OperationStatus::Running);
    assert_eq!(running.response, None);
    assert_eq!(running.operation, op);

    // Not valid UTF-8 and not JSON: the answer is kept byte for byte.
    let body = [0xff, 0x00, b'{', 0x80];
    let ids = db
        .record_calls_and_operations(
            &[record("acme", "qcloud", 0)],
            &[finished(&op, OperationStatus::Succeeded, &body)],
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(db.count("audit").await, 1);
    let done = db.operation("acme", op.id).await.unwrap().unwrap();
    assert_eq!(done.status, OperationStatus::Succeeded);
    let response = done.response.unwrap();
    assert_eq!((response.status, response.body), (200, body.to_vec()));
    assert_eq!(response.content_type.as_deref(), Some("application/json"));
    assert_eq!(done.upstream_calls[0].action.as_deref(), Some("CreateVpc"));
    assert_eq!(done.finished_at, Some(op.created_at + Duration::seconds(5)));

    // A failing audit insert rolls the operation's row back with it: they commit together.
    let other = new_op("acme", 1, None);
    db.fail_every("INSERT", "audit").await;
    assert!(
        db.record_calls_and_operations(
            &[record("acme", "qcloud", 1)],
            &[finished(&other, OperationStatus::Succeeded, b"{}")],
        )
        .await
        .is_err()
    );
    db.stop_failing("audit").await;
    assert_eq!(db.operation("acme", other.id).await.unwrap(), None);
}

async fn a_call_never_begun_is_written_whole_when_it_finishes(db: &TestDb) {
    let op = new_op("acme", 0, None);
    db.record_calls_and_operations(&[], &[finished(&op, OperationStatus::Failed, b"{}")])
        .await
        .unwrap();
    let done = db.operation("acme", op.id).await.unwrap().unwrap();
    assert_eq!(done.status, OperationStatus::Failed);
    assert_eq!(done.operation, op);
    assert_eq!(db.count("audit").await, 0);
}

async fn one_idempotency_key_is_one_operation_even_when_requests_race(db: &TestDb) {
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = db.store.clone();
            let op = new_op("acme", i, Some("same-key"));
            tokio::spawn(async move { (op.id, store.begin_operation(&op).await.unwrap()) })
        })
        .collect();
    let mut started = Vec::new();
    let mut attached = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            (id, Begun::Started) => started.push(id),
            (_, Begun::Existing(op)) => attached.push(op.operation.id),
        }
    }
    assert_eq!(started.len(), 1, "exactly one request starts the operation");
    assert!(
        attached.iter().all(|id| *id == started[0]),
        "the rest attach to it"
    );
    assert_eq!(db.count("operations").await, 1);

    // Another tenant's key space is its own.
    let theirs = new_op("globex", 0, Some("same-key"));
    assert_eq!(db.begin_operation(&theirs).await.unwrap(), Begun::Started);

    // Once the key is released (finished and older than the cutoff) it starts a new operation.
    let ours = db
        .operation_by_key("acme", "same-key")
        .await
        .unwrap()
        .unwrap();
    let cutoff = ours.operation.created_at + Duration::hours(1);
    assert_eq!(
        db.expire_idempotency_keys(cutoff).await.unwrap(),
        0,
        "running keeps its key"
    );
    db.record_calls_and_operations(
        &[],
        &[finished(&ours.operation, OperationStatus::Succeeded, b"{}")],
    )
    .await
    .unwrap();
    assert_eq!(db.expire_idempotency_keys(cutoff).await.unwrap(), 1);
    assert_eq!(
        db.begin_operation(&new_op("acme", 9, Some("same-key")))
            .await
            .unwrap(),
        Begun::Started
    );
}

async fn a_cancelled_operation_stays_cancelled_and_is_invisible_to_other_tenants(db: &TestDb) {
    let op = new_op("acme", 0, Some("k"));
    db.begin_operation(&op).await.unwrap();
    assert_eq!(
        db.cancel_operation("globex", op.id, "no").await.unwrap(),
        None
    );
    assert_eq!(db.operation("globex", op.id).await.unwrap(), None);
    let cancelled = db
        .cancel_operation("acme", op.id, "cancelled by the client")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.status, OperationStatus::Cancelled);
    // The call's end is recorded, but the operation stays cancelled.
    db.record_calls_and_operations(&[], &[finished(&op, OperationStatus::Failed, b"{}")])
        .await
        .unwrap();
    let done = db.operation("acme", op.id).await.unwrap().unwrap();
    assert_eq!(done.status, OperationStatus::Cancelled);
    assert_eq!(done.error.as_deref(), Some("cancelled by the client"));
    assert!(done.response.is_some());
}

async fn operations_list_newest_first_with_filters_and_pages(db: &TestDb) {
    let mut ids = Vec::new();
    for minutes in 0..5 {
        let op = new_op("acme", minutes, None);
        let status = if minutes % 2 == 0 {
            OperationStatus::Succeeded
        } else {
            OperationStatus::Failed
        };
        db.record_calls_and_operations(&[], &[finished(&op, status, b"{}")])
            .await
            .unwrap();
        ids.push(op.id);
    }
    db.record_calls_and_operations(
        &[],
        &[finished(
            &new_op("globex", 9, None),
            OperationStatus::Succeeded,
            b"{}",
        )],
    )
    .await
    .unwrap();
    let list = |query: OperationQuery| async move {
        db.list_operations(&query)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.operation.id)
            .collect::<Vec<_>>()
    };
    let query = OperationQuery {
        tenant: "acme".into(),
        ..Default::default()
    };
    let newest_first: Vec<_> = ids.iter().rev().copied().collect();
    assert_eq!(list(query.clone()).await, newest_first);
    let first = list(OperationQuery {
        limit: Some(2),
        ..query.clone()
    })
    .await;
    assert_eq!(first, newest_first[..2]);
    let second = list(OperationQuery {
        limit: Some(2),
        after: Some(first[1]),
        ..query.clone()
    })
    .await;
    assert_eq!(second, newest_first[2..4]);
    let failed = list(OperationQuery {
        status: Some(OperationStatus::Failed),
        ..query.clone()
    })
    .await;
    assert_eq!(failed, [ids[3], ids[1]]);
    let other_plugin = list(OperationQuery {
        plugin: Some("alicloud".into()),
        ..query
    })
    .await;
    assert!(other_plugin.is_empty());
}

async fn unfinished_operations_fail_at_restart_and_old_ones_are_purged(db: &TestDb) {
    let running = new_op("acme", 0, Some("r"));
    db.begin_operation(&running).await.unwrap();
    let old = new_op("acme", 0, None);
    db.record_calls_and_operations(&[], &[finished(&old, OperationStatus::Succeeded, b"{}")])
        .await
        .unwrap();
    assert_eq!(db.fail_unfinished_operations("restarted").await.unwrap(), 1);
    let failed = db.operation("acme", running.id).await.unwrap().unwrap();
    assert_eq!(failed.status, OperationStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("restarted"));
    // A late finish of a call that failed at the restart changes nothing.
    db.record_calls_and_operations(
        &[],
        &[finished(&running, OperationStatus::Succeeded, b"late")],
    )
    .await
    .unwrap();
    let still = db.operation("acme", running.id).await.unwrap().unwrap();
    assert_eq!(still.status, OperationStatus::Failed);

    let cutoff = old.created_at + Duration::minutes(1);
    assert_eq!(db.purge_operations(cutoff).await.unwrap(), 1);
    assert_eq!(db.operation("acme", old.id).await.unwrap(), None);
    assert!(db.operation("acme", running.id).await.unwrap().is_some());
}

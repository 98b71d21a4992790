//! Audit log: record, filter, page.

use broker_store::{
    AuditQuery, AuditRecord, MAX_GUID_BYTES, MAX_GUIDS, MAX_GUIDS_BYTES, MAX_ROUTE_BYTES,
};
use time::{Duration, OffsetDateTime};

use crate::common::TestDb;

backend_tests!(
    an_audit_record_round_trips_with_its_id,
    audit_rows_come_newest_first_and_filter_by_tenant_plugin_and_time,
    audit_pages_with_before_id_and_limits_default_to_100,
    a_batch_of_records_is_written_in_order,
    oversized_fields_are_capped_when_written,
    a_refusal_summary_keeps_its_count_and_client,
    the_purge_deletes_only_rows_older_than_the_cutoff,
);

/// A record of `tenant` calling `plugin`, `minutes` after a fixed instant.
pub fn record(tenant: &str, plugin: &str, minutes: i64) -> AuditRecord {
    AuditRecord {
        at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
            + Duration::minutes(minutes),
        tenant: Some(tenant.into()),
        plugin: plugin.into(),
        route: format!("/{plugin}/v1/vm/create"),
        request_id: format!("req-{minutes}"),
        guids: vec![],
        outcome: "ok".into(),
        status: 200,
        duration_ms: 12,
        count: 1,
        client: None,
    }
}

async fn an_audit_record_round_trips_with_its_id(db: &TestDb) {
    let rec = AuditRecord {
        at: OffsetDateTime::from_unix_timestamp_nanos(1_800_000_000_123_000_000).unwrap(),
        tenant: None,
        guids: vec!["vm-1".into(), "vpc-2".into()],
        outcome: "trap".into(),
        status: 502,
        duration_ms: u64::from(u32::MAX) + 1,
        ..record("x", "qcloud", 0)
    };
    let id = db.record_call(&rec).await.unwrap();
    let rows = db.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
    assert_eq!(rows[0].record, rec);
}

async fn a_batch_of_records_is_written_in_order(db: &TestDb) {
    let batch: Vec<AuditRecord> = (0..5).map(|m| record("acme", "qcloud", m)).collect();
    db.record_calls(&batch).await.unwrap();
    db.record_calls(&[]).await.unwrap();
    let rows = db.audit(&AuditQuery::default()).await.unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.record.request_id.as_str()).collect();
    assert_eq!(ids, ["req-4", "req-3", "req-2", "req-1", "req-0"]);
}

async fn audit_rows_come_newest_first_and_filter_by_tenant_plugin_and_time(db: &TestDb) {
    let mut ids = Vec::new();
    for (i, (tenant, plugin)) in [
        ("a", "qcloud"),
        ("b", "qcloud"),
        ("a", "bridgx"),
        ("a", "qcloud"),
    ]
    .iter()
    .enumerate()
    {
        ids.push(
            db.record_call(&record(tenant, plugin, i as i64))
                .await
                .unwrap(),
        );
    }
    let query = |q: AuditQuery| async move {
        db.audit(&q)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        query(AuditQuery::default()).await,
        [ids[3], ids[2], ids[1], ids[0]]
    );
    assert_eq!(
        query(AuditQuery {
            tenant: Some("a".into()),
            ..Default::default()
        })
        .await,
        [ids[3], ids[2], ids[0]]
    );
    assert_eq!(
        query(AuditQuery {
            plugin: Some("qcloud".into()),
            ..Default::default()
        })
        .await,
        [ids[3], ids[1], ids[0]]
    );
    assert_eq!(
        query(AuditQuery {
            tenant: Some("a".into()),
            plugin: Some("qcloud".into()),
            ..Default::default()
        })
        .await,
        [ids[3], ids[0]]
    );
    // since is inclusive, until exclusive.
    let since = record("a", "q", 1).at;
    let until = record("a", "q", 3).at;
    assert_eq!(
        query(AuditQuery {
            since: Some(since),
            until: Some(until),
            ..Default::default()
        })
        .await,
        [ids[2], ids[1]]
    );
    assert!(
        query(AuditQuery {
            tenant: Some("nobody".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
}

async fn audit_pages_with_before_id_and_limits_default_to_100(db: &TestDb) {
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(db.record_call(&record("a", "qcloud", i)).await.unwrap());
    }
    ids.reverse(); // newest first
    let all = db.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(all.len(), 100, "default limit");
    let mut paged = Vec::new();
    let mut before_id = None;
    loop {
        let page = db
            .audit(&AuditQuery {
                limit: Some(50),
                before_id,
                ..Default::default()
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        before_id = Some(page.last().unwrap().id);
        paged.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(paged, ids);
    let huge = db
        .audit(&AuditQuery {
            limit: Some(1_000_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(huge.len(), 120);
}

async fn oversized_fields_are_capped_when_written(db: &TestDb) {
    let huge = "g".repeat(3 << 20);
    let rec = AuditRecord {
        guids: std::iter::once(huge.clone())
            .chain((0..1_000).map(|i| format!("{i:0>200}")))
            .collect(),
        route: format!("/v1/qcloud/{huge}"),
        ..record("a", "qcloud", 0)
    };
    db.record_call(&rec).await.unwrap();
    let row = db
        .audit(&AuditQuery::default())
        .await
        .unwrap()
        .remove(0)
        .record;
    assert!(row.route.len() <= MAX_ROUTE_BYTES && row.route.ends_with('…'));
    assert!(row.route.starts_with("/v1/qcloud/ggg"));
    assert!(row.guids[0].len() <= MAX_GUID_BYTES && row.guids[0].ends_with('…'));
    assert!(row.guids.len() <= MAX_GUIDS && row.guids.len() > 10);
    let total: usize = row.guids.iter().map(String::len).sum();
    assert!(total <= MAX_GUIDS_BYTES, "{total} bytes of guids");
    assert_eq!(row.guids[1], rec.guids[1], "short guids are kept whole");
}

async fn a_refusal_summary_keeps_its_count_and_client(db: &TestDb) {
    let rec = AuditRecord {
        tenant: None,
        outcome: "unauthorized".into(),
        status: 401,
        count: 250,
        client: Some("203.0.113.7".into()),
        ..record("x", "qcloud", 0)
    };
    db.record_call(&rec).await.unwrap();
    let rows = db.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(rows[0].record, rec);
}

async fn the_purge_deletes_only_rows_older_than_the_cutoff(db: &TestDb) {
    let batch: Vec<AuditRecord> = (0..6_000)
        .map(|m| record("acme", "qcloud", m % 10))
        .chain([record("acme", "qcloud", 60)])
        .collect();
    db.record_calls(&batch).await.unwrap();
    // Older than minute 10: every row but the last; more than one purge chunk.
    let cutoff = batch[6_000].at - Duration::minutes(50);
    assert_eq!(db.purge_audit(cutoff).await.unwrap(), 6_000);
    let rows = db.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].record.request_id, "req-60");
    assert_eq!(db.purge_audit(cutoff).await.unwrap(), 0);
}

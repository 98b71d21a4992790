//! Multi-step writes are all or nothing: a database error in the last step leaves no trace.
//! The failure is real: a trigger installed behind the store's back makes one statement fail.

use broker_store::StoreError;

use crate::common::TestDb;

backend_tests!(
    a_rotation_that_fails_midway_leaves_the_old_key_working_and_no_new_key,
    a_tenant_delete_that_fails_midway_deletes_nothing,
);

async fn a_rotation_that_fails_midway_leaves_the_old_key_working_and_no_new_key(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let old = db.issue_key(Some("acme"), "deploy").await.unwrap();
    // rotate = revoke old (UPDATE) then add new (INSERT): make the INSERT fail.
    db.fail_every("INSERT", "api_keys").await;
    let err = db.rotate_key(&old.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    db.stop_failing("api_keys").await;

    assert!(
        db.authenticate(&old.key).await.is_ok(),
        "old key must not stay revoked"
    );
    let keys = db.list_keys(Some("acme")).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].revoked_at.is_none());
    // And once the failure is gone, the rotation works.
    let new = db.rotate_key(&old.id).await.unwrap();
    assert!(db.authenticate(&new.key).await.is_ok());
}

async fn a_tenant_delete_that_fails_midway_deletes_nothing(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let key = db.issue_key(Some("acme"), "k").await.unwrap();
    db.put_account("acme", crate::accounts::account("qcloud", "c1", "s"))
        .await
        .unwrap();
    db.set_policy(
        "acme",
        &broker_store::Policy {
            max_concurrent: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // delete = keys, accounts, policy, then the tenant row: make the last step fail.
    db.fail_every("DELETE", "tenants").await;
    assert!(matches!(
        db.delete_tenant("acme").await,
        Err(StoreError::Database(_))
    ));
    db.stop_failing("tenants").await;

    assert!(db.authenticate(&key.key).await.is_ok());
    assert_eq!(db.list_accounts("acme").await.unwrap().len(), 1);
    assert_eq!(db.policy("acme").await.unwrap().max_concurrent, Some(2));
    db.delete_tenant("acme").await.unwrap();
    assert_eq!(
        (
            db.count("api_keys").await,
            db.count("accounts").await,
            db.count("policies").await
        ),
        (0, 0, 0)
    );
}

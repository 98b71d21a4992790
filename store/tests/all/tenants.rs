//! Tenants: create, list, get, duplicate, unknown, delete cascades, shared database.

use broker_store::{NewAccount, Policy, Secret, StoreError};

use crate::common::TestDb;

backend_tests!(
    a_created_tenant_is_listed_and_fetched_by_name,
    a_duplicate_tenant_name_is_a_conflict,
    tenant_names_outside_a_z_0_9_dash_or_64_chars_are_invalid,
    an_unknown_tenant_is_not_found_everywhere,
    deleting_a_tenant_removes_its_keys_accounts_and_policy_but_keeps_audit,
    two_store_handles_on_one_database_see_the_same_data,
);

async fn a_created_tenant_is_listed_and_fetched_by_name(db: &TestDb) {
    let b = db.create_tenant("beta").await.unwrap();
    let a = db.create_tenant("alpha-1").await.unwrap();
    assert_eq!(a.name, "alpha-1");
    assert_eq!(uuid::Uuid::parse_str(&a.id).unwrap().get_version_num(), 4);
    assert_eq!(db.get_tenant("alpha-1").await.unwrap(), a);
    assert_eq!(db.list_tenants().await.unwrap(), vec![a, b]);
}

async fn a_duplicate_tenant_name_is_a_conflict(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let err = db.create_tenant("acme").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(err.to_string(), "conflict: tenant \"acme\" already exists");
    assert_eq!(db.list_tenants().await.unwrap().len(), 1);
}

async fn tenant_names_outside_a_z_0_9_dash_or_64_chars_are_invalid(db: &TestDb) {
    for bad in ["", "Acme", "a b", "a/b", "a_b", "ü", &"a".repeat(65)] {
        let err = db.create_tenant(bad).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err:?}");
    }
    db.create_tenant(&"a".repeat(64)).await.unwrap();
    db.create_tenant("0-9").await.unwrap();
}

async fn an_unknown_tenant_is_not_found_everywhere(db: &TestDb) {
    let nf =
        |r: Result<(), StoreError>| assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    nf(db.get_tenant("ghost").await.map(drop));
    nf(db.delete_tenant("ghost").await);
    nf(db.issue_key(Some("ghost"), "x").await.map(drop));
    nf(db.list_keys(Some("ghost")).await.map(drop));
    nf(db
        .put_account("ghost", crate::accounts::account("qcloud", "c1", "s"))
        .await
        .map(drop));
    nf(db.list_accounts("ghost").await.map(drop));
    nf(db.set_policy("ghost", &Policy::default()).await);
    nf(db.policy("ghost").await.map(drop));
}

async fn deleting_a_tenant_removes_its_keys_accounts_and_policy_but_keeps_audit(db: &TestDb) {
    db.create_tenant("gone").await.unwrap();
    db.create_tenant("stays").await.unwrap();
    let gone_key = db.issue_key(Some("gone"), "k").await.unwrap();
    let stays_key = db.issue_key(Some("stays"), "k").await.unwrap();
    for t in ["gone", "stays"] {
        db.put_account(t, crate::accounts::account("qcloud", "c1", "s"))
            .await
            .unwrap();
        db.set_policy(
            t,
            &Policy {
                max_concurrent: Some(1),
                ..Policy::default()
            },
        )
        .await
        .unwrap();
    }
    db.record_call(&crate::audit::record("gone", "qcloud", 0))
        .await
        .unwrap();

    db.delete_tenant("gone").await.unwrap();

    assert!(matches!(
        db.get_tenant("gone").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        db.authenticate(&gone_key.key).await,
        Err(StoreError::Unauthorized)
    ));
    assert_eq!(db.count("api_keys").await, 1);
    assert_eq!(db.count("accounts").await, 1);
    assert_eq!(db.count("policies").await, 1);
    // The other tenant is untouched; the audit row of the deleted one is kept.
    assert!(db.authenticate(&stays_key.key).await.is_ok());
    assert_eq!(db.list_accounts("stays").await.unwrap().len(), 1);
    let audit = db.audit(&Default::default()).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].record.tenant.as_deref(), Some("gone"));
    // The name is free again, with nothing inherited.
    db.create_tenant("gone").await.unwrap();
    assert!(db.list_accounts("gone").await.unwrap().is_empty());
    assert_eq!(db.policy("gone").await.unwrap(), Policy::default());
}

async fn two_store_handles_on_one_database_see_the_same_data(db: &TestDb) {
    let other = db.open_again(db.key.clone()).await;
    db.create_tenant("shared").await.unwrap();
    assert_eq!(other.get_tenant("shared").await.unwrap().name, "shared");
    let key = other.issue_key(Some("shared"), "from-other").await.unwrap();
    assert!(db.authenticate(&key.key).await.is_ok());
    other
        .put_account(
            "shared",
            NewAccount {
                secret: Secret::new("pw"),
                ..crate::accounts::account("bridgx", "c", "x")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        db.account_secret("shared", "bridgx", "c")
            .await
            .unwrap()
            .1
            .expose(),
        "pw"
    );
    other.close().await;
}

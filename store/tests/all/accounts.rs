//! Cloud accounts: round trip, updates, secrets encrypted and bound to their row.

use broker_store::{NewAccount, Secret, SecretsKey, StoreError};

use crate::common::{TestDb, contains};

backend_tests!(
    an_account_round_trips_and_only_account_secret_returns_the_secret,
    put_account_replaces_every_field_and_keeps_created_at,
    listing_and_getting_accounts_never_exposes_the_secret,
    the_raw_secret_column_holds_nonce_and_ciphertext_not_the_secret,
    a_ciphertext_moved_to_another_account_fails_to_decrypt,
    a_wrong_secrets_key_fails_cleanly_with_a_crypto_error,
    the_start_check_refuses_a_key_that_opens_no_stored_secret,
    accounts_are_isolated_between_tenants_and_can_be_deleted,
    invalid_account_fields_are_rejected,
);

/// A minimal account with secret `secret`.
pub fn account(provider: &str, name: &str, secret: &str) -> NewAccount {
    NewAccount {
        provider: provider.into(),
        name: name.into(),
        secret_id: Some("AKID-public".into()),
        default_region: Some("ap-guangzhou".into()),
        endpoint: None,
        username: None,
        secret: Secret::new(secret),
    }
}

const SECRET: &str = "very-secret-value-0123456789";

async fn an_account_round_trips_and_only_account_secret_returns_the_secret(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let new = NewAccount {
        endpoint: Some("http://bridgx.local:9090".into()),
        username: Some("ops".into()),
        ..account("bridgx", "cluster-uuid-1", SECRET)
    };
    let put = db.put_account("acme", new).await.unwrap();
    assert_eq!(put.created_at, put.updated_at);
    let got = db
        .get_account("acme", "bridgx", "cluster-uuid-1")
        .await
        .unwrap();
    assert_eq!(got, put);
    assert_eq!(got.endpoint.as_deref(), Some("http://bridgx.local:9090"));
    assert_eq!(got.username.as_deref(), Some("ops"));
    let (with_secret, secret) = db
        .account_secret("acme", "bridgx", "cluster-uuid-1")
        .await
        .unwrap();
    assert_eq!(with_secret, put);
    assert_eq!(secret.expose(), SECRET);
    assert_eq!(format!("{secret:?}"), "***");
}

async fn put_account_replaces_every_field_and_keeps_created_at(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let first = db
        .put_account("acme", account("qcloud", "c1", "old"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = db
        .put_account(
            "acme",
            NewAccount {
                secret_id: None,
                default_region: Some("ap-beijing".into()),
                ..account("qcloud", "c1", "new")
            },
        )
        .await
        .unwrap();
    assert_eq!(second.created_at, first.created_at);
    assert!(second.updated_at > first.updated_at);
    let got = db.get_account("acme", "qcloud", "c1").await.unwrap();
    assert_eq!(
        (got.secret_id, got.default_region.as_deref()),
        (None, Some("ap-beijing"))
    );
    assert_eq!(
        db.account_secret("acme", "qcloud", "c1")
            .await
            .unwrap()
            .1
            .expose(),
        "new"
    );
    assert_eq!(db.count("accounts").await, 1);
}

async fn listing_and_getting_accounts_never_exposes_the_secret(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    db.put_account("acme", account("qcloud", "b", SECRET))
        .await
        .unwrap();
    db.put_account("acme", account("alicloud", "a", SECRET))
        .await
        .unwrap();
    let listed = db.list_accounts("acme").await.unwrap();
    let names: Vec<_> = listed
        .iter()
        .map(|a| (a.provider.as_str(), a.name.as_str()))
        .collect();
    assert_eq!(names, [("alicloud", "a"), ("qcloud", "b")]);
    let shown = format!(
        "{listed:?} {:?}",
        db.get_account("acme", "qcloud", "b").await.unwrap()
    );
    assert!(!shown.contains(SECRET));
    let (_, secret) = db.account_secret("acme", "qcloud", "b").await.unwrap();
    let new = account("x", "y", SECRET);
    assert!(
        !format!("{secret:?} {new:?}").contains(SECRET),
        "Debug must redact"
    );
}

async fn the_raw_secret_column_holds_nonce_and_ciphertext_not_the_secret(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    db.put_account("acme", account("qcloud", "c1", SECRET))
        .await
        .unwrap();
    db.put_account("acme", account("qcloud", "c2", SECRET))
        .await
        .unwrap();
    let blobs = db.blobs("SELECT secret FROM accounts").await;
    assert_eq!(blobs.len(), 2);
    for blob in &blobs {
        assert!(!contains(blob, SECRET.as_bytes()));
        assert_eq!(
            blob.len(),
            12 + SECRET.len() + 16,
            "nonce || ciphertext || tag"
        );
    }
    assert_ne!(blobs[0][..12], blobs[1][..12], "a fresh nonce per write");
    assert!(!contains(&db.sqlite_file_bytes(), SECRET.as_bytes()));
}

async fn a_ciphertext_moved_to_another_account_fails_to_decrypt(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    db.create_tenant("evil").await.unwrap();
    db.put_account("acme", account("qcloud", "victim", SECRET))
        .await
        .unwrap();
    db.put_account("acme", account("qcloud", "other", "x"))
        .await
        .unwrap();
    db.put_account("evil", account("qcloud", "victim", "x"))
        .await
        .unwrap();
    // Same tenant, other name; and other tenant, same provider and name.
    db.exec(
        "UPDATE accounts SET secret = (SELECT secret FROM accounts WHERE name = 'victim' \
         AND tenant_id = (SELECT id FROM tenants WHERE name = 'acme')) \
         WHERE name = 'other' OR tenant_id = (SELECT id FROM tenants WHERE name = 'evil')",
    )
    .await;
    for (tenant, name) in [("acme", "other"), ("evil", "victim")] {
        let err = db.account_secret(tenant, "qcloud", name).await.unwrap_err();
        assert!(matches!(err, StoreError::Crypto(_)), "{err:?}");
        assert!(!err.to_string().contains(SECRET));
    }
    assert_eq!(
        db.account_secret("acme", "qcloud", "victim")
            .await
            .unwrap()
            .1
            .expose(),
        SECRET
    );
}

async fn a_wrong_secrets_key_fails_cleanly_with_a_crypto_error(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    db.put_account("acme", account("qcloud", "c1", SECRET))
        .await
        .unwrap();
    let wrong = db.open_again(SecretsKey::generate()).await;
    let err = wrong
        .account_secret("acme", "qcloud", "c1")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Crypto(_)), "{err:?}");
    assert!(err.to_string().contains("wrong secrets key"), "{err}");
    // Everything that needs no secret still works with the wrong key.
    assert_eq!(
        wrong
            .get_account("acme", "qcloud", "c1")
            .await
            .unwrap()
            .name,
        "c1"
    );
    wrong.close().await;
}

async fn accounts_are_isolated_between_tenants_and_can_be_deleted(db: &TestDb) {
    db.create_tenant("a").await.unwrap();
    db.create_tenant("b").await.unwrap();
    db.put_account("a", account("qcloud", "c1", "sa"))
        .await
        .unwrap();
    assert!(db.list_accounts("b").await.unwrap().is_empty());
    assert!(matches!(
        db.get_account("b", "qcloud", "c1").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        db.account_secret("b", "qcloud", "c1").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        db.delete_account("b", "qcloud", "c1").await,
        Err(StoreError::NotFound(_))
    ));
    db.delete_account("a", "qcloud", "c1").await.unwrap();
    assert!(matches!(
        db.get_account("a", "qcloud", "c1").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(db.list_accounts("a").await.unwrap().is_empty());
}

async fn invalid_account_fields_are_rejected(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    for bad in [
        account("", "c", "s"),
        account("q/x", "c", "s"),
        account("q", "", "s"),
    ] {
        let err = db.put_account("acme", bad).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    assert_eq!(db.count("accounts").await, 0);
}

async fn the_start_check_refuses_a_key_that_opens_no_stored_secret(db: &TestDb) {
    // No secrets yet: any key will do.
    let other = db.open_again(SecretsKey::generate()).await;
    other.check_secrets_key().await.unwrap();

    db.create_tenant("acme").await.unwrap();
    for name in ["c1", "c2"] {
        db.put_account("acme", account("qcloud", name, SECRET))
            .await
            .unwrap();
    }
    db.check_secrets_key().await.unwrap();
    let err = other.check_secrets_key().await.unwrap_err();
    assert!(matches!(err, StoreError::Crypto(_)), "{err:?}");
    assert!(err.to_string().contains("2 accounts"), "{err}");
    other.close().await;

    // One row altered by hand does not stop a broker whose key opens the others.
    db.exec("UPDATE accounts SET secret = (SELECT secret FROM accounts WHERE name = 'c2') WHERE name = 'c1'")
        .await;
    db.check_secrets_key().await.unwrap();
}

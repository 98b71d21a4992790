//! API keys: issue, authenticate, revoke, rotate, list, never stored in plain text.

use broker_store::{Principal, StoreError};

use crate::common::{TestDb, contains};

backend_tests!(
    an_issued_key_authenticates_as_its_tenant,
    an_admin_key_authenticates_as_admin,
    keys_are_cbk_plus_43_base64url_chars_with_an_8_char_prefix,
    a_revoked_key_is_unauthorized_exactly_like_an_unknown_one,
    rotating_a_key_revokes_the_old_one_and_the_new_one_works,
    a_revoked_key_cannot_be_rotated_and_unknown_ids_are_not_found,
    listing_keys_shows_label_prefix_and_revocation_but_never_the_key,
    the_database_never_contains_the_plaintext_key,
);

async fn an_issued_key_authenticates_as_its_tenant(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let issued = db.issue_key(Some("acme"), "ci").await.unwrap();
    assert_eq!(
        db.authenticate(&issued.key).await.unwrap(),
        Principal::Tenant {
            tenant: "acme".into(),
            key_id: issued.id.clone()
        }
    );
    assert!(
        !format!("{issued:?}").contains(&issued.key),
        "Debug must hide the key"
    );
}

async fn an_admin_key_authenticates_as_admin(db: &TestDb) {
    let issued = db.issue_key(None, "root").await.unwrap();
    assert_eq!(
        db.authenticate(&issued.key).await.unwrap(),
        Principal::Admin { key_id: issued.id }
    );
}

async fn keys_are_cbk_plus_43_base64url_chars_with_an_8_char_prefix(db: &TestDb) {
    let issued = db.issue_key(None, "x").await.unwrap();
    let body = issued.key.strip_prefix("cbk_").unwrap();
    assert_eq!(body.len(), 43); // 32 bytes, unpadded
    assert!(
        body.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(issued.prefix, &body[..8]);
    assert_ne!(db.issue_key(None, "x").await.unwrap().key, issued.key);
}

async fn a_revoked_key_is_unauthorized_exactly_like_an_unknown_one(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let issued = db.issue_key(Some("acme"), "ci").await.unwrap();
    db.revoke_key(&issued.id).await.unwrap();
    db.revoke_key(&issued.id).await.unwrap(); // idempotent
    let revoked = db.authenticate(&issued.key).await.unwrap_err();
    let unknown = db
        .authenticate("cbk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await
        .unwrap_err();
    let malformed = db.authenticate("not a key").await.unwrap_err();
    assert!(matches!(revoked, StoreError::Unauthorized));
    assert_eq!(revoked.to_string(), unknown.to_string());
    assert_eq!(revoked.to_string(), malformed.to_string());
    assert!(matches!(
        db.revoke_key("no-such-id").await,
        Err(StoreError::NotFound(_))
    ));
}

async fn rotating_a_key_revokes_the_old_one_and_the_new_one_works(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let old = db.issue_key(Some("acme"), "deploy").await.unwrap();
    let new = db.rotate_key(&old.id).await.unwrap();
    assert_ne!(new.id, old.id);
    assert!(matches!(
        db.authenticate(&old.key).await,
        Err(StoreError::Unauthorized)
    ));
    assert_eq!(
        db.authenticate(&new.key).await.unwrap(),
        Principal::Tenant {
            tenant: "acme".into(),
            key_id: new.id.clone()
        }
    );
    let listed = db.list_keys(Some("acme")).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|k| k.label == "deploy"));
    // Admin keys rotate into admin keys.
    let admin = db.issue_key(None, "root").await.unwrap();
    let admin2 = db.rotate_key(&admin.id).await.unwrap();
    assert_eq!(
        db.authenticate(&admin2.key).await.unwrap(),
        Principal::Admin { key_id: admin2.id }
    );
}

async fn a_revoked_key_cannot_be_rotated_and_unknown_ids_are_not_found(db: &TestDb) {
    let k = db.issue_key(None, "root").await.unwrap();
    db.rotate_key(&k.id).await.unwrap();
    assert!(matches!(
        db.rotate_key(&k.id).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        db.rotate_key("no-such-id").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(db.count("api_keys").await, 2);
}

async fn listing_keys_shows_label_prefix_and_revocation_but_never_the_key(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let a = db.issue_key(Some("acme"), "one").await.unwrap();
    let b = db.issue_key(Some("acme"), "two").await.unwrap();
    let admin = db.issue_key(None, "root").await.unwrap();
    db.revoke_key(&a.id).await.unwrap();
    let listed = db.list_keys(Some("acme")).await.unwrap();
    let mut ids: Vec<_> = listed.iter().map(|k| k.id.clone()).collect();
    ids.sort();
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    let la = listed.iter().find(|k| k.id == a.id).unwrap();
    assert_eq!(
        (la.label.as_str(), la.prefix.as_str(), la.tenant.as_deref()),
        ("one", a.prefix.as_str(), Some("acme"))
    );
    assert!(la.revoked_at.is_some());
    assert!(
        listed
            .iter()
            .find(|k| k.id == b.id)
            .unwrap()
            .revoked_at
            .is_none()
    );
    let debug = format!("{listed:?}");
    assert!(!debug.contains(&a.key) && !debug.contains(&b.key));
    let admins = db.list_keys(None).await.unwrap();
    assert_eq!(admins.len(), 1);
    assert_eq!(
        (admins[0].id.as_str(), admins[0].tenant.as_deref()),
        (admin.id.as_str(), None)
    );
}

async fn the_database_never_contains_the_plaintext_key(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let t = db.issue_key(Some("acme"), "t").await.unwrap();
    let a = db.issue_key(None, "a").await.unwrap();
    let r = db.rotate_key(&t.id).await.unwrap();
    let rows = db
        .texts(
            "SELECT id || ' ' || COALESCE(tenant_id, '') || ' ' || label || ' ' || key_hash \
             || ' ' || prefix FROM api_keys",
        )
        .await;
    assert_eq!(rows.len(), 3);
    let files = db.sqlite_file_bytes(); // SQLite: the whole database file and WAL
    for key in [&t.key, &a.key, &r.key] {
        let body = key.strip_prefix("cbk_").unwrap();
        assert!(
            rows.iter().all(|row| !row.contains(body)),
            "plaintext key in api_keys"
        );
        assert!(
            !contains(&files, body.as_bytes()),
            "plaintext key in the database file"
        );
    }
    // What is stored is the SHA-256 hex of the full key.
    let hashes = db.texts("SELECT key_hash FROM api_keys").await;
    use sha2::Digest as _;
    assert!(hashes.contains(&hex::encode(sha2::Sha256::digest(a.key.as_bytes()))));
}

//! The secrets key's sources (no database needed), and the data-dir default.

use broker_store::{Secret, SecretsKey, Store, StoreError};

use crate::common::temp_dir;

#[test]
fn a_missing_key_file_is_created_with_mode_0600_and_read_back_unchanged() {
    let dir = temp_dir();
    let path = dir.join("secrets.key");
    let created = SecretsKey::load_or_create(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let loaded = SecretsKey::load_or_create(&path).unwrap();
    assert_eq!(created.to_base64(), loaded.to_base64());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_key_file_of_the_wrong_size_is_refused_and_left_alone() {
    let dir = temp_dir();
    let path = dir.join("secrets.key");
    std::fs::write(&path, b"too short").unwrap();
    let err = SecretsKey::load_or_create(&path).unwrap_err();
    assert!(matches!(err, StoreError::Crypto(_)), "{err:?}");
    assert!(
        err.to_string().contains("has 9 bytes, expected exactly 32"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"too short");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_base64_key_must_decode_to_32_bytes() {
    let key = SecretsKey::generate();
    assert_eq!(
        SecretsKey::from_base64(&key.to_base64())
            .unwrap()
            .to_base64(),
        key.to_base64()
    );
    use base64::Engine as _;
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xfb; 32]);
    let from_url_safe = SecretsKey::from_base64(&format!("  {url_safe}\n")).unwrap();
    assert_eq!(
        from_url_safe.to_base64(),
        SecretsKey::from_bytes([0xfb; 32]).to_base64()
    );
    assert!(matches!(
        SecretsKey::from_base64("c2hvcnQ="),
        Err(StoreError::Crypto(_))
    ));
    assert!(matches!(
        SecretsKey::from_base64("not base64!"),
        Err(StoreError::Crypto(_))
    ));
}

#[test]
fn secrets_and_keys_print_as_stars_in_debug() {
    assert_eq!(format!("{:?}", Secret::new("hunter2")), "***");
    assert!(!format!("{:?}", SecretsKey::from_bytes([1; 32])).contains("AQEB"));
}

#[tokio::test]
async fn open_in_data_dir_creates_the_directory_and_broker_db() {
    let dir = temp_dir().join("nested/data");
    let store = Store::open_in_data_dir(&dir, SecretsKey::generate())
        .await
        .unwrap();
    store.create_tenant("acme").await.unwrap();
    assert!(dir.join("broker.db").exists());
    store.close().await;
    let again = Store::open_in_data_dir(&dir, SecretsKey::generate())
        .await
        .unwrap();
    assert_eq!(
        again.list_tenants().await.unwrap().len(),
        1,
        "reopen keeps data, migrations are idempotent"
    );
    assert_eq!(again.backend_name(), "sqlite");
    again.close().await;
    std::fs::remove_dir_all(dir.parent().unwrap().parent().unwrap()).unwrap();
}

#[tokio::test]
async fn an_unsupported_url_is_invalid() {
    let err = Store::open("mysql://x", SecretsKey::generate())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}

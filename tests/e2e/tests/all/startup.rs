//! Start-up checks on the broker's own files: a secrets key that cannot open the stored secrets
//! stops the start, and the data directory, cache and database are private to the broker's user.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use broker::Broker;
use broker::config::Config;
use broker_store::{NewAccount, Secret};

use crate::harness::shared_cache;

/// A broker configuration with no plugins, its state in `data_dir`.
fn config(data_dir: &Path, plugin_dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        plugin_dir: plugin_dir.to_path_buf(),
        data_dir: data_dir.to_path_buf(),
        cache_dir: Some(shared_cache()),
        simulators: false,
        ..Config::default()
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn a_lost_secrets_key_stops_the_start_instead_of_being_replaced() {
    let (data, plugins) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let broker = Broker::start(config(data.path(), plugins.path()))
        .await
        .unwrap();
    broker
        .store()
        .put_account(
            broker::bootstrap::DEFAULT_TENANT,
            NewAccount {
                provider: "qcloud".into(),
                name: "c1".into(),
                secret_id: Some("AKIDpublic".into()),
                default_region: None,
                endpoint: None,
                username: None,
                secret: Secret::new("stored-secret-value"),
            },
        )
        .await
        .unwrap();
    broker.shutdown().await.unwrap();

    let key_file = data.path().join("secrets.key");
    let original = std::fs::read(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let refused = Broker::start(config(data.path(), plugins.path()))
        .await
        .err()
        .expect("a broker whose key cannot open the stored secrets does not start");
    let message = format!("{refused:#}");
    for needle in [
        "refusing to start",
        "default/qcloud/c1",
        "key file",
        "was missing",
        "BROKER_SECRETS_KEY",
        "delete the stored accounts",
    ] {
        assert!(message.contains(needle), "`{needle}` in: {message}");
    }
    assert!(
        !key_file.exists(),
        "the key made by the refused start is not left to be taken for the real one"
    );

    // With the original key restored, the broker starts and reads the secret.
    std::fs::write(&key_file, original).unwrap();
    let broker = Broker::start(config(data.path(), plugins.path()))
        .await
        .unwrap();
    let (_, secret) = broker
        .store()
        .account_secret(broker::bootstrap::DEFAULT_TENANT, "qcloud", "c1")
        .await
        .unwrap();
    assert_eq!(secret.expose(), "stored-secret-value");
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_data_dir_cache_and_database_are_private() {
    let (root, plugins) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let data = root.path().join("state/data");
    let mut cfg = config(&data, plugins.path());
    cfg.cache_dir = None; // the default, <data_dir>/cache
    let broker = Broker::start(cfg.clone()).await.unwrap();
    assert_eq!(mode(&data), 0o700, "data dir");
    assert_eq!(
        mode(&root.path().join("state")),
        0o700,
        "its missing parent"
    );
    assert_eq!(mode(&data.join("cache")), 0o700, "cache dir");
    for file in [
        "broker.db",
        "broker.db-wal",
        "broker.db-shm",
        "secrets.key",
        broker::bootstrap::ADMIN_KEY_FILE,
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    broker.shutdown().await.unwrap();

    // A database left readable by an older version is tightened at start.
    std::fs::set_permissions(
        data.join("broker.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let broker = Broker::start(cfg).await.unwrap();
    assert_eq!(mode(&data.join("broker.db")), 0o600);
    broker.shutdown().await.unwrap();
}

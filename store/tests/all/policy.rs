//! Per-tenant policy: unrestricted default, set and replace.

use broker_store::Policy;

use crate::common::TestDb;

backend_tests!(
    the_default_policy_is_unrestricted,
    a_set_policy_is_returned_and_can_be_replaced
);

async fn the_default_policy_is_unrestricted(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    let p = db.policy("acme").await.unwrap();
    assert_eq!(
        p,
        Policy {
            allowed_plugins: None,
            max_concurrent: None,
            rate_per_minute: None
        }
    );
}

async fn a_set_policy_is_returned_and_can_be_replaced(db: &TestDb) {
    db.create_tenant("acme").await.unwrap();
    db.create_tenant("other").await.unwrap();
    let strict = Policy {
        allowed_plugins: Some(vec!["qcloud".into(), "bridgx".into()]),
        max_concurrent: Some(4),
        rate_per_minute: Some(u32::MAX),
    };
    db.set_policy("acme", &strict).await.unwrap();
    assert_eq!(db.policy("acme").await.unwrap(), strict);
    assert_eq!(db.policy("other").await.unwrap(), Policy::default());
    let none_allowed = Policy {
        allowed_plugins: Some(vec![]),
        ..Policy::default()
    };
    db.set_policy("acme", &none_allowed).await.unwrap();
    assert_eq!(db.policy("acme").await.unwrap(), none_allowed);
    db.set_policy("acme", &Policy::default()).await.unwrap();
    assert_eq!(db.policy("acme").await.unwrap(), Policy::default());
}

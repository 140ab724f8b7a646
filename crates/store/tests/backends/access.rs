//! Projects created by an admin, and scoped API tokens (issue 9).

use test_support::FreshDb;
use wstg_domain::{DojoTarget, TargetFields};
use wstg_store::{
    hash_token, new_project_name, Access, AddProjectError, MapProjectError, ProjectLinks,
    TokenGrant, TokenRole,
};

use crate::common::*;

fn none() -> DojoTarget {
    DojoTarget::default()
}

/// Every field of a mapping is stored and read back as given, and a name
/// with the characters DefectDojo accepts (issue 11 item 5) is kept as is.
async fn project_targets_round_trip(db: &FreshDb) {
    let store = store(db).await;
    let default = project("default");
    let name = new_project_name(" R&D (web) / {API}: 'x' \"y\" ").unwrap();
    assert_eq!(name.as_str(), "R&D (web) / {API}: 'x' \"y\"");
    let fields = TargetFields {
        product_id: None,
        product_name: Some("Client & Co / web".into()),
        engagement_id: Some(42),
        engagement_name: None,
        product_type_name: Some("Clients".into()),
        test_title: Some("Checklist {1}".into()),
    };
    let target = DojoTarget::parse(&fields).unwrap();
    let rec = store.add_project(&name, &target, &default).await.unwrap();
    assert_eq!(rec.target, fields);
    let back = store.registered_project(&name).await.unwrap().unwrap();
    assert_eq!(back, rec);
    assert_eq!(DojoTarget::parse(&back.target).unwrap(), target);
    // A row of the first migration (no mapping) reads as all unset.
    let plain = project("plain");
    store.add_project(&plain, &none(), &default).await.unwrap();
    let plain = store.registered_project(&plain).await.unwrap().unwrap();
    assert_eq!(plain.target, TargetFields::default());
}

async fn projects_are_created_once_and_look_alikes_refused(db: &FreshDb) {
    let store = store(db).await;
    let default = project("default");
    let alpha = new_project_name("ａｌｐｈａ").unwrap();
    assert_eq!(alpha.as_str(), "alpha", "NFKC-normalised");
    let target = DojoTarget::parse(&TargetFields {
        product_id: Some(7),
        engagement_id: Some(9),
        ..TargetFields::default()
    })
    .unwrap();
    let rec = store.add_project(&alpha, &target, &default).await.unwrap();
    assert_eq!(
        (rec.target.product_id, rec.target.engagement_id),
        (Some(7), Some(9))
    );
    assert_eq!(
        store.registered_project(&alpha).await.unwrap(),
        Some(rec.clone())
    );
    assert!(matches!(
        store.add_project(&alpha, &none(), &default).await,
        Err(AddProjectError::Exists(_))
    ));
    // Case and look-alike letters, against a created project and against
    // the default project, which has no row.
    for (name, existing) in [("ALPHA", "alpha"), ("DEFAULT", "default")] {
        match store.add_project(&project(name), &none(), &default).await {
            Err(AddProjectError::Confusable { existing: e, .. }) => {
                assert_eq!(e.as_str(), existing)
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    let scope = project("scope");
    store.add_project(&scope, &none(), &default).await.unwrap();
    let cyrillic = new_project_name("\u{0455}\u{0441}\u{043e}\u{0440}\u{0435}").unwrap();
    assert!(matches!(
        store.add_project(&cyrillic, &none(), &default).await,
        Err(AddProjectError::Confusable { .. })
    ));
    let names: Vec<String> = store
        .registered_projects()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name.as_str().to_owned())
        .collect();
    assert_eq!(names, ["alpha", "scope"]);
}

/// A mapping changes until the project's first sync, never after.
async fn project_targets_change_only_before_the_first_sync(db: &FreshDb) {
    let store = store(db).await;
    let default = project("default");
    let name = project("alpha");
    store.add_project(&name, &none(), &default).await.unwrap();
    let target = DojoTarget::parse(&TargetFields {
        engagement_id: Some(43),
        ..TargetFields::default()
    })
    .unwrap();
    let rec = store.set_project_target(&name, &target).await.unwrap();
    assert_eq!(rec.target.engagement_id, Some(43));
    assert!(matches!(
        store.set_project_target(&project("nobody"), &target).await,
        Err(MapProjectError::Unknown(_))
    ));
    let links = ProjectLinks {
        product_type_id: 1,
        product_id: 2,
        engagement_id: 43,
        test_type_id: 4,
        test_id: 5,
    };
    store.save_project_links(&name, &links).await.unwrap();
    match store.set_project_target(&name, &none()).await {
        Err(MapProjectError::Linked { test_id, .. }) => assert_eq!(test_id, 5),
        other => panic!("{other:?}"),
    }
    let back = store.registered_project(&name).await.unwrap().unwrap();
    assert_eq!(back.target.engagement_id, Some(43), "unchanged");
}

async fn tokens_are_stored_hashed_found_and_revoked(db: &FreshDb) {
    let store = store(db).await;
    let grants = vec![
        TokenGrant {
            project: project("alpha"),
            access: Access::Write,
        },
        TokenGrant {
            project: project("beta"),
            access: Access::Read,
        },
    ];
    let made = store
        .create_token("ci for alpha", TokenRole::Tracker, &grants)
        .await
        .unwrap();
    assert!(made.secret.starts_with("wstg_") && made.secret.len() == 5 + 64);
    assert!(!format!("{made:?}").contains(&made.secret));
    let found = store.token_for_secret(&made.secret).await.unwrap().unwrap();
    assert_eq!(found.id, made.token.id);
    assert_eq!(found.role, TokenRole::Tracker);
    let mut got = found.grants.clone();
    got.sort_by(|a, b| a.project.cmp(&b.project));
    assert_eq!(got, grants);
    assert_eq!(store.token_for_secret("wstg_wrong").await.unwrap(), None);

    // Only the hash is stored: the secret appears nowhere in the table.
    let listed = store.tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_ne!(hash_token(&made.secret), made.secret);

    let admin = store
        .create_token("ops", TokenRole::Admin, &[])
        .await
        .unwrap();
    assert_eq!(
        store
            .token_for_secret(&admin.secret)
            .await
            .unwrap()
            .unwrap()
            .role,
        TokenRole::Admin
    );
    assert!(store.revoke_token(&made.token.id).await.unwrap());
    assert!(!store.revoke_token(&made.token.id).await.unwrap());
    assert_eq!(store.token_for_secret(&made.secret).await.unwrap(), None);
    let listed = store.tokens().await.unwrap();
    assert!(listed[0].revoked_at.is_some() && listed[1].revoked_at.is_none());
}

on_both_backends!(
    projects_are_created_once_and_look_alikes_refused,
    project_targets_round_trip,
    project_targets_change_only_before_the_first_sync,
    tokens_are_stored_hashed_found_and_revoked
);

//! A project's methodology and catalogue version (issue 12 item 5).

use test_support::FreshDb;
use wstg_domain::CatalogueVersion;
use wstg_store::new_project_name;

use crate::common::*;

async fn a_project_keeps_the_catalogue_it_was_given(db: &FreshDb) {
    let store = store(db).await;
    let default = project("default");
    let asvs = new_project_name("asvs-app").unwrap();
    let plain = new_project_name("plain").unwrap();
    store
        .add_project(&asvs, &Default::default(), &default)
        .await
        .unwrap();
    store
        .add_project(&plain, &Default::default(), &default)
        .await
        .unwrap();
    // A project made without one follows the configured default.
    assert_eq!(store.project_catalogue(&asvs).await.unwrap(), None);
    assert!(store
        .set_project_catalogue(&asvs, CatalogueVersion::Asvs4_0_3)
        .await
        .unwrap());
    assert_eq!(
        store.project_catalogue(&asvs).await.unwrap(),
        Some(CatalogueVersion::Asvs4_0_3)
    );
    assert_eq!(store.project_catalogue(&plain).await.unwrap(), None);
    // No row: nothing is set, and nothing is claimed.
    let ghost = project("ghost");
    assert!(!store
        .set_project_catalogue(&ghost, CatalogueVersion::MastgLatest)
        .await
        .unwrap());
    assert_eq!(store.project_catalogue(&ghost).await.unwrap(), None);
}

on_both_backends!(a_project_keeps_the_catalogue_it_was_given);

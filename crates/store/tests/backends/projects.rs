//! Project links.

use test_support::FreshDb;
use wstg_store::ProjectLinks;

use crate::common::*;

fn links(base: i64) -> ProjectLinks {
    ProjectLinks {
        product_type_id: base + 1,
        product_id: base + 2,
        engagement_id: base + 3,
        test_type_id: base + 4,
        test_id: base + 5,
    }
}

async fn project_links_are_saved_replaced_and_listed(db: &FreshDb) {
    let store = store(db).await;
    let (beta, alpha) = (project("Beta site"), project("alpha.app"));
    assert_eq!(store.project_links(&beta).await.unwrap(), None);

    store.save_project_links(&beta, &links(10)).await.unwrap();
    assert_eq!(store.project_links(&beta).await.unwrap(), Some(links(10)));

    // The bootstrap re-created the hierarchy: the new ids replace the old.
    store.save_project_links(&beta, &links(20)).await.unwrap();
    assert_eq!(store.project_links(&beta).await.unwrap(), Some(links(20)));

    // Large DefectDojo ids survive both backends.
    let big = links(i64::from(u32::MAX) * 4);
    store.save_project_links(&alpha, &big).await.unwrap();
    // Listed by name in byte order, whatever the database's collation.
    assert_eq!(
        store.projects().await.unwrap(),
        vec![(beta, links(20)), (alpha, big)]
    );
}

on_both_backends!(project_links_are_saved_replaced_and_listed);

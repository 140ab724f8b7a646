//! Vulnerabilities under an item: insert (idempotent, bounded per item),
//! edit, sync records guarded by the version, summaries.

use test_support::FreshDb;
use uuid::Uuid;
use wstg_domain::vulnerability::{Cwe, Origin, Severity, VulnFields, VulnStatus, MAX_PER_ITEM};
use wstg_store::{Inserted, VulnSynced};

use crate::common::{at, project, store, wstg};

fn fields(title: &str, severity: Severity) -> VulnFields {
    VulnFields {
        title: title.to_owned(),
        severity,
        description: "union based".to_owned(),
        steps: "1. open /login".to_owned(),
        impact: String::new(),
        mitigation: String::new(),
        cwe: Some(Cwe::new(89).unwrap()),
        endpoints: vec![
            wstg_domain::vulnerability::Endpoint::parse("https://app.example/login").unwrap(),
        ],
    }
}

async fn vulnerabilities_round_trip(db: &FreshDb) {
    let store = store(db).await;
    let p = project("default");
    let item = wstg("WSTG-INPV-05");
    let id = Uuid::now_v7();
    let f = fields("SQLi in login", Severity::High);
    assert_eq!(
        store
            .insert_vulnerability(id, &p, &item, &f, at(0))
            .await
            .unwrap(),
        Inserted::New
    );
    assert_eq!(
        store
            .insert_vulnerability(id, &p, &item, &f, at(1))
            .await
            .unwrap(),
        Inserted::Exists
    );
    let rec = store.vulnerability(id).await.unwrap().unwrap();
    assert_eq!(
        (
            rec.fields.clone(),
            rec.status,
            rec.origin,
            rec.finding_id,
            rec.version
        ),
        (f.clone(), VulnStatus::Pending, Origin::Tracker, None, 1)
    );

    // The write-ahead intent, then a sync planned on version 1.
    store
        .set_vulnerability_create_sent(id, Some(at(5)))
        .await
        .unwrap();
    assert_eq!(
        store
            .vulnerability(id)
            .await
            .unwrap()
            .unwrap()
            .create_sent_at,
        Some(at(5))
    );
    let synced = VulnSynced {
        finding_id: 42,
        fields: VulnFields {
            title: "Sqli In Login".into(),
            ..f.clone()
        },
        status: VulnStatus::Active,
        dojo_updated: Some("2026-03-01T09:00:01Z".into()),
        seen_version: 1,
    };
    // A tracker edit came in meanwhile: the sync's result is not recorded.
    let edited = fields("SQLi in the login form", Severity::Critical);
    assert!(store.edit_vulnerability(id, &edited, at(6)).await.unwrap());
    assert!(!store
        .record_vulnerability_synced(id, &synced, at(7))
        .await
        .unwrap());
    let rec = store.vulnerability(id).await.unwrap().unwrap();
    assert_eq!((rec.fields.clone(), rec.version), (edited, 2));
    assert!(store
        .record_vulnerability_synced(
            id,
            &VulnSynced {
                seen_version: 2,
                ..synced.clone()
            },
            at(8)
        )
        .await
        .unwrap());
    let rec = store.vulnerability(id).await.unwrap().unwrap();
    assert_eq!(
        (rec.finding_id, rec.status, rec.create_sent_at),
        (Some(42), VulnStatus::Active, None)
    );
    assert_eq!(rec.synced.as_ref(), Some(&synced.fields));
    assert_eq!(
        store
            .vulnerability_by_finding(&p, 42)
            .await
            .unwrap()
            .unwrap()
            .id,
        id
    );

    // One found in DefectDojo: recorded once however often it is seen.
    let scanner = VulnSynced {
        finding_id: 43,
        fields: fields("Scanner SQLi", Severity::Critical),
        status: VulnStatus::Mitigated,
        dojo_updated: None,
        seen_version: 0,
    };
    let a = store
        .insert_dojo_vulnerability(&p, &item, &scanner, at(9))
        .await
        .unwrap();
    let b = store
        .insert_dojo_vulnerability(&p, &item, &scanner, at(10))
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        store.item_vulnerabilities(&p, &item).await.unwrap().len(),
        2
    );
    assert_eq!(
        store.vulnerability(a).await.unwrap().unwrap().origin,
        Origin::Dojo
    );

    // The summary: the closed Critical does not make the item's worst.
    let s = store.vulnerability_summaries(&p).await.unwrap()["WSTG-INPV-05"];
    assert_eq!(
        (s.count, s.open, s.worst_severity),
        (2, 1, Some(Severity::High))
    );
    store.mark_vulnerability_deleted(id).await.unwrap();
    let s = store.vulnerability_summaries(&p).await.unwrap()["WSTG-INPV-05"];
    assert_eq!(
        (s.count, s.open, s.worst_severity),
        (1, 0, Some(Severity::Critical))
    );
    assert_eq!(store.linked_vulnerabilities(&p).await.unwrap().len(), 2);
}

async fn vulnerabilities_per_item_are_bounded(db: &FreshDb) {
    let store = store(db).await;
    let p = project("default");
    let item = wstg("WSTG-INPV-06");
    let f = fields("x", Severity::Low);
    for i in 0..MAX_PER_ITEM {
        let r = store
            .insert_vulnerability(Uuid::now_v7(), &p, &item, &f, at(i as i64))
            .await
            .unwrap();
        assert_eq!(r, Inserted::New);
    }
    let r = store
        .insert_vulnerability(Uuid::now_v7(), &p, &item, &f, at(1000))
        .await
        .unwrap();
    assert_eq!(r, Inserted::Full);
    // Another item is not affected.
    let r = store
        .insert_vulnerability(Uuid::now_v7(), &p, &wstg("WSTG-INPV-07"), &f, at(1000))
        .await
        .unwrap();
    assert_eq!(r, Inserted::New);
}

on_both_backends!(
    vulnerabilities_round_trip,
    vulnerabilities_per_item_are_bounded
);

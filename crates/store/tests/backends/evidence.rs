//! Evidence files (issue 12 item 2): bytes round-trip exactly, the project
//! quota holds, a DefectDojo file is recorded once, states move one way.

use chrono::Utc;
use sha2::{Digest, Sha256};
use test_support::FreshDb;
use uuid::Uuid;
use wstg_domain::evidence::{EvidenceName, EvidenceOrigin, EvidenceState, EvidenceTarget};
use wstg_store::NewEvidence;

use crate::common::*;

async fn evidence_bytes_round_trip_and_the_quota_holds(db: &FreshDb) {
    let store = store(db).await;
    let p = project("ev");
    let w = wstg("WSTG-INFO-01");
    // Every byte value, NULs and invalid UTF-8 included.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let sha = hex::encode(Sha256::digest(&bytes));
    let name = EvidenceName::sanitise("shot.png");
    let id = Uuid::now_v7();
    let new = NewEvidence {
        id,
        project: &p,
        wstg_id: &w,
        target: &EvidenceTarget::Item,
        name: &name,
        content_type: "image/png",
        sha256: &sha,
        bytes: &bytes,
        origin: EvidenceOrigin::Tracker,
        dojo: None,
        at: Utc::now(),
    };
    assert!(store.add_evidence(&new, 5000).await.unwrap());
    assert_eq!(store.evidence_bytes(id).await.unwrap().unwrap(), bytes);
    let rec = store.evidence(id).await.unwrap().unwrap();
    assert_eq!((rec.size, rec.state), (3000, EvidenceState::Pending));
    assert_eq!(store.project_evidence_bytes(&p).await.unwrap(), 3000);
    // 3000 + 3000 > 5000: refused, nothing stored.
    let second = NewEvidence {
        id: Uuid::now_v7(),
        ..new.clone()
    };
    assert!(!store.add_evidence(&second, 5000).await.unwrap());
    assert_eq!(store.item_evidence(&p, &w).await.unwrap().len(), 1);

    assert!(store
        .mark_evidence_uploaded(id, 11, 4, Utc::now())
        .await
        .unwrap());
    assert!(
        !store
            .mark_evidence_uploaded(id, 11, 5, Utc::now())
            .await
            .unwrap(),
        "once"
    );
    let found = store
        .finding_evidence(&p, 11, &w, &EvidenceTarget::Item)
        .await
        .unwrap();
    assert_eq!(found[0].dojo_file_id, Some(4));

    // A DefectDojo file is recorded once.
    let from_dojo = NewEvidence {
        id: Uuid::now_v7(),
        origin: EvidenceOrigin::Dojo,
        dojo: Some((11, 9)),
        bytes: b"log",
        ..new.clone()
    };
    assert!(store.add_evidence(&from_dojo, 1 << 20).await.unwrap());
    let again = NewEvidence {
        id: Uuid::now_v7(),
        ..from_dojo.clone()
    };
    assert!(!store.add_evidence(&again, 1 << 20).await.unwrap());

    assert!(store.mark_evidence_removed(id, Utc::now()).await.unwrap());
    let rec = store.evidence(id).await.unwrap().unwrap();
    assert_eq!(rec.state, EvidenceState::RemovedInDojo);
}

on_both_backends!(evidence_bytes_round_trip_and_the_quota_holds);

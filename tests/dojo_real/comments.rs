//! Issue 12 item 4 against a real DefectDojo: a tracker comment becomes
//! exactly one note on the finding (its tracker author named), a note made
//! in DefectDojo comes back as a comment with its author and date, and
//! several poll passes later nothing was echoed either way.

use reqwest::Method;
use serde_json::{json, Value};
use test_support::eventually_async;
use wstg_domain::Status;

use crate::backend::Backend;
use crate::bridge::{fresh_project, Bridge, WAIT};

async fn comments(b: &Bridge, wstg_id: &str) -> Vec<Value> {
    let body: Value = b
        .http
        .get(format!("{}/api/wstg/items/{wstg_id}/comments", b.url))
        .query(&[("project", b.project.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["comments"].as_array().cloned().unwrap_or_default()
}

async fn notes(dojo: &Backend, finding: i64) -> Vec<Value> {
    let (s, v) = dojo
        .api(Method::GET, &format!("findings/{finding}/notes/"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v["notes"].as_array().cloned().unwrap()
}

pub async fn comments_both_ways(dojo: &Backend) {
    let b = Bridge::start(dojo, &fresh_project("comments"), &[]).await;
    let id = "WSTG-CONF-01";
    b.set(id, Status::InProgress, "").await;
    let (_, fid) = b.linked(id, Status::InProgress).await;

    let r = b
        .http
        .post(format!("{}/api/wstg/items/{id}/comments", b.url))
        .query(&[("project", b.project.as_str())])
        .json(&json!({"author": "collab-alice", "body": "nginx banner\r\nshows 1.18 "}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let note_id = eventually_async(WAIT, "the comment posted and found", || async {
        let c = comments(&b, id).await;
        (c.len() == 1 && c[0]["synced"] == true).then(|| c[0]["dojo_note_id"].as_i64().unwrap())
    })
    .await;
    let n = notes(dojo, fid).await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["id"], note_id);
    assert_eq!(
        n[0]["entry"],
        "nginx banner\nshows 1.18\n\n— collab-alice (WSTG tracker)"
    );

    let (s, v) = dojo
        .api(
            Method::POST,
            &format!("findings/{fid}/notes/"),
            Some(json!({"entry": "collab lead: confirmed", "private": false})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(
        v.get("id").is_none(),
        "DefectDojo's POST answers without the note id"
    );
    let back = eventually_async(WAIT, "the lead's note in the tracker", || async {
        let c = comments(&b, id).await;
        (c.len() == 2).then(|| c[1].clone())
    })
    .await;
    assert_eq!(back["origin"], "dojo");
    assert_eq!(back["body"], "collab lead: confirmed");
    assert_eq!(back["author"], v["author"]["username"]);

    b.settle().await;
    b.poller_passes(3).await;
    b.settle().await;
    assert_eq!(
        notes(dojo, fid).await.len(),
        2,
        "no note echoed to DefectDojo"
    );
    assert_eq!(
        comments(&b, id).await.len(),
        2,
        "no note brought back twice"
    );
}

/// Issue 12 item 3 against a real DefectDojo: an assignee set in the
/// tracker is the finding's `wstg-assignee:` tag, a lead's retag comes back,
/// and nothing is echoed.
pub async fn assignment_both_ways(dojo: &Backend) {
    let b = Bridge::start(dojo, &fresh_project("assign"), &[]).await;
    let id = "WSTG-CONF-02";
    let r = b
        .http
        .post(format!("{}/api/wstg/sync", b.url))
        .json(&json!({"wstg_id": id, "status": "in_progress", "assignee": "Collab-Alice", "project": b.project}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let (_, fid) = b.linked(id, Status::InProgress).await;
    let tags = |f: &Value| -> Vec<String> {
        f["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    };
    let f = eventually_async(WAIT, "the assignee tag in DefectDojo", || async {
        let f = dojo.finding(fid).await?;
        tags(&f)
            .contains(&"wstg-assignee:collab-alice".to_owned())
            .then_some(f)
    })
    .await;
    let mut retag: Vec<String> = tags(&f)
        .into_iter()
        .filter(|t| !t.starts_with("wstg-assignee:"))
        .collect();
    retag.push("wstg-assignee:collab-carol".into());
    dojo.patch(fid, json!({"tags": retag})).await;
    eventually_async(WAIT, "the lead's assignee in the tracker", || async {
        (b.item(id).await["assignee"] == "collab-carol").then_some(())
    })
    .await;
    b.settle().await;
    b.poller_passes(3).await;
    b.settle().await;
    let f = dojo.finding(fid).await.unwrap();
    let assignees: Vec<String> = tags(&f)
        .into_iter()
        .filter(|t| t.starts_with("wstg-assignee:"))
        .collect();
    assert_eq!(assignees, vec!["wstg-assignee:collab-carol".to_owned()]);
    assert_eq!(b.item(id).await["assignee"], "collab-carol");
    assert_eq!(b.item(id).await["status"], "in_progress");
}

//! The in-memory database and its seed (what a fresh DefectDojo 3.2.0 already contains).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::clock;
use crate::drf::fields::{Lookup, Target};
use crate::model::finding::{Finding, SaveContext};
use crate::model::note::Note;
use crate::model::record::Record;
use crate::model::user::{User, ADMIN_ID};
use crate::model::{product_type, test_type};
use crate::tags::TagTable;

/// SLA configurations of dojo/fixtures/sla_configurations.json:
/// id -> (critical, high, medium, low) days, or `None` when nothing is enforced.
const SLA_CONFIGURATIONS: &[(u64, Option<[i64; 4]>)] = &[(1, Some([7, 30, 90, 120])), (2, None)];

/// Next primary key per table. Seeded so that ids line up with the recorded instance:
/// product type 1 is the fixture's "Research and Development" (the first created one is 2,
/// LIVE 08) and test types 1..=279 exist (the first created one is 280, LIVE 14).
#[derive(Clone, Debug)]
struct NextIds {
    product_type: u64,
    product: u64,
    engagement: u64,
    test: u64,
    test_type: u64,
    finding: u64,
    note: u64,
    note_history: u64,
    notifications: u64,
}

#[derive(Clone, Copy, Debug)]
pub enum Table {
    ProductType,
    Product,
    Engagement,
    Test,
    TestType,
    Finding,
    Note,
    NoteHistory,
    Notifications,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub users: BTreeMap<u64, User>,
    pub product_types: BTreeMap<u64, Record>,
    pub products: BTreeMap<u64, Record>,
    pub engagements: BTreeMap<u64, Record>,
    pub tests: BTreeMap<u64, Record>,
    pub test_types: BTreeMap<u64, Record>,
    pub findings: BTreeMap<u64, Finding>,
    pub notes: BTreeMap<u64, Note>,
    pub finding_tags: TagTable,
    /// `System_Settings` id 1 (without `id`).
    pub system_settings: serde_json::Map<String, Value>,
    /// `Notifications` rows.
    pub notifications: BTreeMap<u64, Record>,
    /// Findings' files (`FileUpload` rows with their bytes), by id.
    pub files: BTreeMap<u64, crate::routes::files::SimFile>,
    next_file: u64,
    next: NextIds,
}

impl Db {
    /// A fresh instance: the admin user plus DefectDojo's fixtures.
    pub fn seeded() -> Self {
        let mut users = BTreeMap::new();
        users.insert(ADMIN_ID, User::admin());

        let mut product_types = BTreeMap::new();
        let mut fixture_defaults = product_type::defaults_map();
        fixture_defaults.insert("critical_product".into(), json!(true));
        let mut rnd = Record::new(1, fixture_defaults, Default::default());
        rnd.fields
            .insert("name".into(), json!("Research and Development"));
        product_types.insert(1, rnd);

        let test_types = test_type::FIXTURE
            .iter()
            .map(|(id, name)| {
                let mut r = Record::new(*id, test_type::defaults_map(), Default::default());
                r.fields.insert("name".into(), json!(name));
                (*id, r)
            })
            .collect();

        Self {
            users,
            product_types,
            products: BTreeMap::new(),
            engagements: BTreeMap::new(),
            tests: BTreeMap::new(),
            test_types,
            findings: BTreeMap::new(),
            notes: BTreeMap::new(),
            files: BTreeMap::new(),
            next_file: 1,
            finding_tags: TagTable::default(),
            system_settings: crate::model::system_settings::fresh(),
            notifications: [(
                1,
                Record::new(
                    1,
                    crate::model::notifications::admin_row(),
                    Default::default(),
                ),
            )]
            .into_iter()
            .collect(),
            next: NextIds {
                product_type: 2,
                product: 1,
                engagement: 1,
                test: 1,
                test_type: test_type::FIRST_CREATED_ID,
                finding: 1,
                note: 1,
                note_history: 1,
                notifications: 2,
            },
        }
    }

    /// Where DefectDojo would send `event`: to the system notification webhooks only when
    /// webhook notifications are enabled and the system `Notifications` row lists "webhooks"
    /// for the event's column (helper.py:879; docs/defectdojo.md §6, §10).
    pub fn webhook_route(&self, event: &str) -> crate::webhooks::Route {
        let enabled = self
            .system_settings
            .get("enable_webhooks_notifications")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let subscribed = crate::model::notifications::system_row_subscribes(
            self.notifications.values().map(|r| &r.fields),
            event,
            "webhooks",
        );
        if enabled && subscribed {
            crate::webhooks::Route::SystemWebhooks
        } else {
            crate::webhooks::Route::SimOnly
        }
    }

    /// The next `FileUpload` id (1 on a fresh instance, as recorded).
    pub fn next_file_id(&mut self) -> u64 {
        let id = self.next_file;
        self.next_file += 1;
        id
    }

    /// The ids of a finding's files (`files` in the finding's JSON).
    pub fn finding_file_ids(&self, finding: u64) -> Vec<u64> {
        self.files
            .values()
            .filter(|f| f.finding == finding)
            .map(|f| f.id)
            .collect()
    }

    pub fn next_id(&mut self, table: Table) -> u64 {
        let slot = match table {
            Table::ProductType => &mut self.next.product_type,
            Table::Product => &mut self.next.product,
            Table::Engagement => &mut self.next.engagement,
            Table::Test => &mut self.next.test,
            Table::TestType => &mut self.next.test_type,
            Table::Finding => &mut self.next.finding,
            Table::Note => &mut self.next.note,
            Table::NoteHistory => &mut self.next.note_history,
            Table::Notifications => &mut self.next.notifications,
        };
        let id = *slot;
        *slot += 1;
        id
    }

    pub fn admin(&self) -> &User {
        // the admin row is seeded and never deleted
        &self.users[&ADMIN_ID]
    }

    pub fn user_stub(&self, id: u64) -> Value {
        self.users.get(&id).map_or(Value::Null, User::stub)
    }

    pub fn engagement_id_of_test(&self, test: u64) -> Option<u64> {
        self.tests.get(&test)?.u64("engagement")
    }

    pub fn product_id_of_test(&self, test: u64) -> Option<u64> {
        let engagement = self.engagement_id_of_test(test)?;
        self.engagements.get(&engagement)?.u64("product")
    }

    pub fn product_of_test(&self, test: u64) -> Option<&Record> {
        self.products.get(&self.product_id_of_test(test)?)
    }

    /// `product.enable_simple_risk_acceptance` for a finding's test.
    pub fn simple_risk_acceptance(&self, test: u64) -> bool {
        self.product_of_test(test)
            .is_some_and(|p| p.bool("enable_simple_risk_acceptance"))
    }

    /// What `Finding.save()` needs: the acting user and the product's SLA configuration
    /// (`System_Settings.enable_finding_sla` is on in a fresh instance).
    pub fn save_context(&self, test: u64) -> SaveContext {
        let sla_id = self
            .product_of_test(test)
            .and_then(|p| p.u64("sla_configuration"))
            .unwrap_or(1);
        let sla = SLA_CONFIGURATIONS
            .iter()
            .find(|(id, _)| *id == sla_id)
            .and_then(|(_, days)| *days);
        SaveContext {
            user: ADMIN_ID,
            sla,
        }
    }

    /// A finding's notes, newest first (`Notes.Meta.ordering = ['-date']`, LIVE 44, 63).
    pub fn finding_notes_desc(&self, f: &Finding) -> Vec<Value> {
        let mut notes: Vec<&Note> = f.notes.iter().filter_map(|id| self.notes.get(id)).collect();
        notes.sort_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
        notes.into_iter().map(|n| n.to_json(self)).collect()
    }

    /// Adds a note to a finding (author admin) and returns its id.
    pub fn add_note(
        &mut self,
        finding: &mut Finding,
        entry: &str,
        private: bool,
        date: Option<clock::Timestamp>,
        with_history: bool,
    ) -> u64 {
        let id = self.next_id(Table::Note);
        let date = date.unwrap_or_else(clock::now);
        let history = if with_history {
            vec![crate::model::note::NoteHistory {
                id: self.next_id(Table::NoteHistory),
                data: entry.to_string(),
                time: date,
                current_editor: ADMIN_ID,
            }]
        } else {
            Vec::new()
        };
        self.notes.insert(
            id,
            Note {
                id,
                entry: entry.to_string(),
                author: ADMIN_ID,
                private,
                date,
                edit_time: clock::now(),
                history,
            },
        );
        finding.notes.push(id);
        id
    }

    /// `FindingRelatedFieldsSerializer` (`?related_fields=true`, LIVE 27).
    pub fn finding_related_fields(&self, f: &Finding) -> Value {
        let Some(test) = self.tests.get(&f.test) else {
            return json!({ "test": null, "jira": null });
        };
        let test_type = test
            .u64("test_type")
            .and_then(|id| self.test_types.get(&id))
            .map_or(
                Value::Null,
                |tt| json!({ "id": tt.id, "name": tt.get("name") }),
            );
        let engagement = test
            .u64("engagement")
            .and_then(|id| self.engagements.get(&id))
            .map_or(Value::Null, |e| {
                let product = e
                    .u64("product")
                    .and_then(|id| self.products.get(&id))
                    .map_or(Value::Null, |p| {
                        let prod_type = p
                            .u64("prod_type")
                            .and_then(|id| self.product_types.get(&id))
                            .map_or(
                                Value::Null,
                                |pt| json!({ "id": pt.id, "name": pt.get("name") }),
                            );
                        json!({ "id": p.id, "name": p.get("name"), "prod_type": prod_type })
                    });
                json!({
                    "id": e.id,
                    "name": e.get("name"),
                    "description": e.get("description"),
                    "product": product,
                    "target_start": e.get("target_start"),
                    "target_end": e.get("target_end"),
                    "branch_tag": e.get("branch_tag"),
                    "engagement_type": e.get("engagement_type"),
                    "build_id": e.get("build_id"),
                    "commit_hash": e.get("commit_hash"),
                    "version": e.get("version"),
                    "created": e.created_json(),
                    "updated": e.updated_json(),
                })
            });
        json!({
            "test": {
                "id": test.id,
                "title": test.get("title"),
                "test_type": test_type,
                "engagement": engagement,
                "environment": test.get("environment"),
                "branch_tag": test.get("branch_tag"),
                "build_id": test.get("build_id"),
                "commit_hash": test.get("commit_hash"),
                "version": test.get("version"),
            },
            "jira": null,
        })
    }
}

impl Lookup for Db {
    fn exists(&self, target: Target, id: u64) -> bool {
        match target {
            Target::User => self.users.contains_key(&id),
            Target::TestType => self.test_types.contains_key(&id),
            Target::Test => self.tests.contains_key(&id),
            Target::Engagement => self.engagements.contains_key(&id),
            Target::Product => self.products.contains_key(&id),
            Target::ProductType => self.product_types.contains_key(&id),
            Target::Finding => self.findings.contains_key(&id),
            Target::SlaConfiguration => SLA_CONFIGURATIONS.iter().any(|(sla, _)| *sla == id),
            Target::Empty => false,
        }
    }
}

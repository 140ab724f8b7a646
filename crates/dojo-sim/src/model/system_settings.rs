//! `System_Settings` (SystemSettingsSerializer): one row, id 1, as a fresh DefectDojo 3.2.0
//! holds it (recorded, tests/fixtures/recorded/webhook-lifecycle/01). The bridge only turns
//! `enable_webhooks_notifications` on (docs/defectdojo.md §6, §10); every other field is
//! stored as sent after a type check against its current value.

use serde_json::{Map, Value};

use crate::drf::fields::{parse_bool, parse_int};
use crate::drf::{ErrorItem, FieldErrors};

pub const MODEL: &str = "System_Settings";

/// The row of a fresh instance, without `id`.
const FRESH: &str = r#"{"enable_deduplication": false, "delete_duplicates": false, "max_dupes": 10, "email_from": "no-reply@example.com", "enable_jira": false, "enable_jira_web_hook": false, "disable_jira_webhook_secret": false, "jira_webhook_secret": "kit-jira-webhook-secret", "jira_minimum_severity": "Low", "jira_labels": null, "add_vulnerability_id_to_jira_label": false, "enable_github": false, "enable_slack_notifications": false, "slack_channel": "", "slack_token": "", "slack_username": "", "enable_msteams_notifications": false, "msteams_url": "", "enable_mail_notifications": false, "mail_notifications_to": "", "enable_webhooks_notifications": false, "webhooks_notifications_timeout": 10, "enforce_verified_status": true, "enforce_verified_status_jira": true, "enforce_verified_status_product_grading": true, "enforce_verified_status_metrics": true, "false_positive_history": false, "retroactive_false_positive_history": false, "url_prefix": "", "team_name": "", "enable_product_grade": false, "product_grade_a": 90, "product_grade_b": 80, "product_grade_c": 70, "product_grade_d": 60, "product_grade_f": 59, "enable_product_tag_inheritance": false, "enable_benchmark": true, "enable_similar_findings": true, "engagement_auto_close": false, "engagement_auto_close_days": 3, "enable_finding_sla": true, "enable_notify_sla_active": false, "enable_notify_sla_active_verified": false, "enable_notify_sla_jira_only": false, "enable_notify_sla_exponential_backoff": false, "allow_anonymous_survey_repsonse": false, "disclaimer_notifications": "", "disclaimer_reports": "", "disclaimer_reports_forced": false, "disclaimer_notes": "", "risk_acceptance_form_default_days": 180, "risk_acceptance_notify_before_expiration": 10, "enable_questionnaires": true, "enable_checklists": true, "enable_endpoint_metadata_import": true, "enable_user_profile_editable": true, "enable_product_tracking_files": true, "enable_finding_groups": true, "enable_ui_table_based_searching": true, "enable_calendar": true, "enable_cvss3_display": true, "enable_cvss4_display": true, "minimum_password_length": 9, "maximum_password_length": 48, "number_character_required": true, "special_character_required": true, "lowercase_character_required": true, "uppercase_character_required": true, "non_common_password_required": true, "api_expose_error_details": false, "filter_string_matching": false}"#;

pub fn fresh() -> Map<String, Value> {
    serde_json::from_str(FRESH).unwrap_or_default()
}

/// Validates `input` against the current row: booleans and integers are parsed as DRF does,
/// strings must be strings (or null where the row holds null). Unknown and read-only keys
/// (`id`) are ignored.
pub fn validate(
    current: &Map<String, Value>,
    input: &Map<String, Value>,
) -> Result<Map<String, Value>, FieldErrors> {
    let mut out = Map::new();
    let mut errors = FieldErrors::default();
    for (name, raw) in input {
        let Some(now) = current.get(name) else {
            continue;
        };
        let parsed = match now {
            Value::Bool(_) => parse_bool(raw).map(Value::Bool),
            Value::Number(_) => parse_int(raw).map(Value::from),
            Value::String(_) | Value::Null => match raw {
                Value::String(_) => Ok(raw.clone()),
                Value::Null if now.is_null() => Ok(Value::Null),
                Value::Null => Err(ErrorItem::null()),
                _ => Err(ErrorItem::invalid("Not a valid string.")),
            },
            _ => Ok(raw.clone()),
        };
        match parsed {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(item) => errors.add(name, item),
        }
    }
    errors.into_result()?;
    Ok(out)
}

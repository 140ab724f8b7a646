//! DRF serializer fields: turn a JSON request body into validated, canonical values and DRF's
//! field errors (messages and codes as rest_framework/fields.py and relations.py word them).

use std::sync::OnceLock;

use chrono::NaiveDate;
use regex::Regex;
use serde_json::{Map, Value};

use super::errors::{ApiError, ApiResult, ErrorItem, FieldErrors};
use crate::clock::{self, Timestamp};

/// What a primary-key field points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    User,
    TestType,
    Test,
    Engagement,
    Product,
    ProductType,
    Finding,
    SlaConfiguration,
    /// Tables the simulator keeps empty (note types, endpoints, SonarQube issues, ...): every
    /// id is "Invalid pk".
    Empty,
}

/// Existence checks for primary-key fields.
pub trait Lookup {
    fn exists(&self, target: Target, id: u64) -> bool;
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    /// `BooleanField(allow_null=True)` (`fix_available`).
    NullBool,
    Str {
        max: Option<usize>,
        null: bool,
        blank: bool,
    },
    Int {
        null: bool,
    },
    Float {
        null: bool,
    },
    Date {
        null: bool,
    },
    DateTime {
        null: bool,
    },
    Choice {
        choices: &'static [&'static str],
        null: bool,
    },
    Pk {
        target: Target,
        null: bool,
    },
    PkList {
        target: Target,
    },
    /// DefectDojo's `TagListSerializerField` (dojo/api_v2/serializers.py:125-189).
    Tags,
    /// Accepted and stored as sent (`vulnerability_ids`, `cwes`).
    Json,
}

impl Kind {
    pub const fn text(null: bool) -> Kind {
        Kind::Str {
            max: None,
            null,
            blank: null,
        }
    }

    pub const fn chars(max: usize, null: bool) -> Kind {
        Kind::Str {
            max: Some(max),
            null,
            blank: null,
        }
    }
}

/// When a field is required (`required=True` on the serializer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Required {
    No,
    /// Required on create only (e.g. finding `active`/`verified`, serializer.py:689-692).
    OnCreate,
    /// Required on create and on PUT.
    OnWrite,
}

#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: Required,
}

impl Field {
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            required: Required::No,
        }
    }

    pub const fn required(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            required: Required::OnWrite,
        }
    }

    pub const fn required_on_create(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            required: Required::OnCreate,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Create,
    /// PUT: a full update, required fields must be present.
    Put,
    /// PATCH: `partial=True`, nothing is required.
    Patch,
}

impl Mode {
    fn requires(self, required: Required) -> bool {
        match (self, required) {
            (Mode::Patch, _) | (_, Required::No) => false,
            (Mode::Create, _) => true,
            (Mode::Put, Required::OnWrite) => true,
            (Mode::Put, Required::OnCreate) => false,
        }
    }
}

/// Validated input: canonical JSON per field, only for the fields that were sent.
pub type Validated = Map<String, Value>;

/// Runs every field of `fields` (in serializer order) over `input`. Unknown and read-only keys
/// are ignored, as DRF does. Errors are collected for all fields before failing.
pub fn validate(
    fields: &[Field],
    input: &Map<String, Value>,
    mode: Mode,
    lookup: &dyn Lookup,
) -> ApiResult<Validated> {
    let mut out = Map::new();
    let mut errors = FieldErrors::default();
    for field in fields {
        match input.get(field.name) {
            None => {
                if mode.requires(field.required) {
                    errors.add(field.name, ErrorItem::required());
                }
            }
            Some(raw) => match to_internal(field.kind, raw, lookup) {
                Ok(value) => {
                    out.insert(field.name.to_string(), value);
                }
                Err(FieldFailure::Item(item)) => errors.add(field.name, item),
                Err(FieldFailure::Internal) => return Err(ApiError::Internal),
            },
        }
    }
    errors.into_result().map_err(ApiError::Validation)?;
    Ok(out)
}

enum FieldFailure {
    Item(ErrorItem),
    /// The real server raises an unhandled exception for this input.
    Internal,
}

impl From<ErrorItem> for FieldFailure {
    fn from(item: ErrorItem) -> Self {
        FieldFailure::Item(item)
    }
}

/// Python's `type(x).__name__` for a JSON value, as quoted in DRF messages.
pub fn py_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `str(x)` for a JSON scalar.
fn py_str_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

fn nullable(kind: Kind) -> bool {
    match kind {
        Kind::NullBool => true,
        Kind::Str { null, .. }
        | Kind::Int { null }
        | Kind::Float { null }
        | Kind::Date { null }
        | Kind::DateTime { null }
        | Kind::Choice { null, .. }
        | Kind::Pk { null, .. } => null,
        Kind::Bool | Kind::PkList { .. } | Kind::Tags | Kind::Json => false,
    }
}

fn to_internal(kind: Kind, raw: &Value, lookup: &dyn Lookup) -> Result<Value, FieldFailure> {
    if raw.is_null() {
        return if nullable(kind) {
            Ok(Value::Null)
        } else {
            Err(ErrorItem::null().into())
        };
    }
    let value = match kind {
        Kind::Bool => Value::Bool(parse_bool(raw)?),
        Kind::NullBool => match raw {
            Value::String(s) if matches!(s.as_str(), "null" | "Null" | "NULL" | "") => Value::Null,
            _ => Value::Bool(parse_bool(raw)?),
        },
        Kind::Str { max, null, blank } => parse_str(raw, max, null, blank)?,
        Kind::Int { .. } => Value::from(parse_int(raw)?),
        Kind::Float { .. } => parse_float(raw)?,
        Kind::Date { .. } => Value::from(clock::format_date(&parse_date(raw)?)),
        Kind::DateTime { .. } => Value::from(clock::format_datetime(&parse_datetime(raw)?)),
        Kind::Choice { choices, .. } => {
            let s = py_str_of(raw);
            if !choices.contains(&s.as_str()) || !matches!(raw, Value::String(_)) {
                return Err(ErrorItem::new(
                    format!("\"{s}\" is not a valid choice."),
                    "invalid_choice",
                )
                .into());
            }
            Value::from(s)
        }
        Kind::Pk { target, .. } => Value::from(parse_pk(raw, target, lookup)?),
        Kind::PkList { target } => {
            let items = match raw {
                Value::Array(items) => items,
                other => return Err(not_a_list(other).into()),
            };
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                ids.push(Value::from(parse_pk(item, target, lookup)?));
            }
            Value::Array(ids)
        }
        Kind::Tags => Value::Array(parse_tags(raw)?.into_iter().map(Value::from).collect()),
        Kind::Json => raw.clone(),
    };
    Ok(value)
}

fn not_a_list(value: &Value) -> ErrorItem {
    ErrorItem::new(
        format!(
            "Expected a list of items but got type \"{}\".",
            py_type_name(value)
        ),
        "not_a_list",
    )
}

/// DRF `BooleanField` TRUE_VALUES / FALSE_VALUES.
pub fn parse_bool(raw: &Value) -> Result<bool, ErrorItem> {
    const TRUE: [&str; 14] = [
        "t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1",
    ];
    const FALSE: [&str; 14] = [
        "f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0",
    ];
    match raw {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
        Value::String(s) if TRUE.contains(&s.as_str()) => Ok(true),
        Value::String(s) if FALSE.contains(&s.as_str()) => Ok(false),
        _ => Err(ErrorItem::invalid("Must be a valid boolean.")),
    }
}

fn parse_str(raw: &Value, max: Option<usize>, null: bool, blank: bool) -> Result<Value, ErrorItem> {
    let s = match raw {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(ErrorItem::invalid("Not a valid string.")),
    };
    let trimmed = s.trim().to_string();
    if trimmed.is_empty() {
        // DRF returns '' for a blank value the field allows; null=True model fields allow blank.
        return if blank || null {
            Ok(Value::from(""))
        } else {
            Err(ErrorItem::new("This field may not be blank.", "blank"))
        };
    }
    if let Some(max) = max {
        if trimmed.chars().count() > max {
            return Err(ErrorItem::new(
                format!("Ensure this field has no more than {max} characters."),
                "max_length",
            ));
        }
    }
    Ok(Value::from(trimmed))
}

/// DRF `IntegerField`: `int(re.sub(r'\.0*\s*$', '', str(data)))`.
pub fn parse_int(raw: &Value) -> Result<i64, ErrorItem> {
    let invalid = || ErrorItem::invalid("A valid integer is required.");
    let text = match raw {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(invalid()),
    };
    let trimmed_decimal = {
        let t = text.trim_end();
        match t.rfind('.') {
            Some(dot) if t[dot + 1..].chars().all(|c| c == '0') => &t[..dot],
            _ => t,
        }
    };
    trimmed_decimal.trim().parse::<i64>().map_err(|_| invalid())
}

fn parse_float(raw: &Value) -> Result<Value, ErrorItem> {
    let invalid = || ErrorItem::invalid("A valid number is required.");
    let f = match raw {
        Value::Number(n) => n.as_f64().ok_or_else(invalid)?,
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| invalid())?,
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => return Err(invalid()),
    };
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(invalid)
}

pub fn parse_date(raw: &Value) -> Result<NaiveDate, ErrorItem> {
    raw.as_str().and_then(clock::parse_date).ok_or_else(|| {
        ErrorItem::invalid("Date has wrong format. Use one of these formats instead: YYYY-MM-DD.")
    })
}

pub fn parse_datetime(raw: &Value) -> Result<Timestamp, ErrorItem> {
    raw.as_str().and_then(clock::parse_datetime).ok_or_else(|| {
        ErrorItem::invalid(
            "Datetime has wrong format. Use one of these formats instead: \
             YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
        )
    })
}

/// DRF `PrimaryKeyRelatedField.to_internal_value`: Django's `int(pk)` then a lookup.
pub fn parse_pk(raw: &Value, target: Target, lookup: &dyn Lookup) -> Result<u64, ErrorItem> {
    let incorrect = || {
        ErrorItem::new(
            format!(
                "Incorrect type. Expected pk value, received {}.",
                py_type_name(raw)
            ),
            "incorrect_type",
        )
    };
    let id: i64 = match raw {
        Value::Number(n) => match n.as_i64() {
            Some(i) => i,
            // Python's int(1.9) truncates; ids that large or negative simply do not exist.
            None => n.as_f64().map(|f| f.trunc() as i64).ok_or_else(incorrect)?,
        },
        Value::String(s) => s.trim().parse().map_err(|_| incorrect())?,
        _ => return Err(incorrect()),
    };
    match u64::try_from(id) {
        Ok(id) if lookup.exists(target, id) => Ok(id),
        _ => Err(ErrorItem::new(
            format!("Invalid pk \"{}\" - object does not exist.", py_str_of(raw)),
            "does_not_exist",
        )),
    }
}

fn tag_split_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    // serializers.py: re.findall(r'(?:"[^"]*"|[^",]+)', s)
    PATTERN.get_or_init(|| Regex::new(r#"(?:"[^"]*"|[^",]+)"#).expect("valid tag split pattern"))
}

/// `TagListSerializerField.to_internal_value` (dojo/api_v2/serializers.py:149-180): each
/// element is split on commas (LIVE 73) and every piece must pass `tag_validator`
/// (dojo/validators.py:16-31): no spaces, commas or quotes (LIVE 72).
fn parse_tags(raw: &Value) -> Result<Vec<String>, FieldFailure> {
    let owned;
    let items: &Vec<Value> =
        match raw {
            Value::Array(items) => items,
            Value::String(s) if s.is_empty() => {
                // `json.loads([])` raises TypeError, which the field does not catch.
                return Err(FieldFailure::Internal);
            }
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(items)) => {
                    owned = items;
                    &owned
                }
                Ok(other) => return Err(not_a_list(&other).into()),
                Err(_) => return Err(ErrorItem::new(
                    "Invalid json list. A tag list submitted in string form must be valid json.",
                    "invalid_json",
                )
                .into()),
            },
            other => return Err(not_a_list(other).into()),
        };
    if items.len() == 1 && items[0].as_str() == Some("") {
        return Ok(Vec::new());
    }
    let mut tags = Vec::new();
    for item in items {
        let Some(s) = item.as_str() else {
            return Err(
                ErrorItem::new("All list items must be of string type.", "not_a_str").into(),
            );
        };
        if s.trim().is_empty() {
            return Err(ErrorItem::new("This field may not be blank.", "blank").into());
        }
        for piece in tag_split_pattern().find_iter(s) {
            let piece = piece.as_str();
            if piece.contains([' ', ',', '\'', '"']) {
                return Err(ErrorItem::invalid(format!(
                    "Invalid tag: '{piece}'. Tags should not contain spaces, commas, or quotes."
                ))
                .into());
            }
            tags.push(piece.to_string());
        }
    }
    Ok(tags)
}

/// Typed reads of validated values.
pub trait ValidatedExt {
    fn bool_of(&self, name: &str) -> Option<bool>;
    fn u64_of(&self, name: &str) -> Option<u64>;
    fn str_of(&self, name: &str) -> Option<&str>;
    fn date_of(&self, name: &str) -> Option<Option<NaiveDate>>;
    fn datetime_of(&self, name: &str) -> Option<Option<Timestamp>>;
    fn ids_of(&self, name: &str) -> Option<Vec<u64>>;
    fn strings_of(&self, name: &str) -> Option<Vec<String>>;
}

impl ValidatedExt for Validated {
    fn bool_of(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }

    fn u64_of(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(Value::as_u64)
    }

    fn str_of(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    fn date_of(&self, name: &str) -> Option<Option<NaiveDate>> {
        self.get(name)
            .map(|v| v.as_str().and_then(clock::parse_date))
    }

    fn datetime_of(&self, name: &str) -> Option<Option<Timestamp>> {
        self.get(name)
            .map(|v| v.as_str().and_then(clock::parse_datetime))
    }

    fn ids_of(&self, name: &str) -> Option<Vec<u64>> {
        self.get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_u64).collect())
    }

    fn strings_of(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).and_then(Value::as_array).map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct OnlyOne;
    impl Lookup for OnlyOne {
        fn exists(&self, _: Target, id: u64) -> bool {
            id == 1
        }
    }

    fn run(kind: Kind, raw: Value) -> Result<Value, String> {
        to_internal(kind, &raw, &OnlyOne).map_err(|e| match e {
            FieldFailure::Item(item) => item.message,
            FieldFailure::Internal => "500".into(),
        })
    }

    #[test]
    fn booleans() {
        assert_eq!(run(Kind::Bool, json!("true")), Ok(json!(true)));
        assert_eq!(run(Kind::Bool, json!(0)), Ok(json!(false)));
        assert_eq!(
            run(Kind::Bool, json!("maybe")),
            Err("Must be a valid boolean.".into())
        );
        assert_eq!(
            run(Kind::Bool, json!(null)),
            Err("This field may not be null.".into())
        );
    }

    #[test]
    fn primary_keys() {
        let k = Kind::Pk {
            target: Target::Test,
            null: false,
        };
        assert_eq!(run(k, json!("1")), Ok(json!(1)));
        assert_eq!(
            run(k, json!(999)),
            Err("Invalid pk \"999\" - object does not exist.".into())
        );
        assert_eq!(
            run(k, json!("abc")),
            Err("Incorrect type. Expected pk value, received str.".into())
        );
        assert_eq!(
            run(k, json!(true)),
            Err("Incorrect type. Expected pk value, received bool.".into())
        );
    }

    #[test]
    fn tags_are_split_and_validated() {
        assert_eq!(
            run(Kind::Tags, json!(["WSTG,WSTG-CONF-02"])),
            Ok(json!(["WSTG", "WSTG-CONF-02"]))
        );
        assert_eq!(
            run(Kind::Tags, json!(["WSTG INFO"])),
            Err(
                "Invalid tag: 'WSTG INFO'. Tags should not contain spaces, commas, or quotes."
                    .into()
            )
        );
        assert_eq!(run(Kind::Tags, json!("[\"a\"]")), Ok(json!(["a"])));
        assert_eq!(run(Kind::Tags, json!("")), Err("500".into()));
        assert_eq!(run(Kind::Tags, json!([""])), Ok(json!([])));
        assert_eq!(
            run(Kind::Tags, json!(5)),
            Err("Expected a list of items but got type \"int\".".into())
        );
    }

    #[test]
    fn strings_and_ints() {
        assert_eq!(run(Kind::chars(4, false), json!("S2")), Ok(json!("S2")));
        assert_eq!(
            run(Kind::chars(4, false), json!("S2345")),
            Err("Ensure this field has no more than 4 characters.".into())
        );
        assert_eq!(
            run(Kind::text(false), json!("  ")),
            Err("This field may not be blank.".into())
        );
        assert_eq!(run(Kind::text(true), json!(null)), Ok(json!(null)));
        assert_eq!(run(Kind::Int { null: false }, json!("5.0")), Ok(json!(5)));
        assert_eq!(
            run(Kind::Int { null: false }, json!(5.5)),
            Err("A valid integer is required.".into())
        );
    }

    #[test]
    fn required_fields_follow_mode() {
        let fields = [
            Field::required("title", Kind::text(false)),
            Field::required_on_create("active", Kind::Bool),
        ];
        let empty = Map::new();
        let create = validate(&fields, &empty, Mode::Create, &OnlyOne);
        assert!(matches!(create, Err(ApiError::Validation(ref e)) if e.iter().count() == 2));
        let put = validate(&fields, &empty, Mode::Put, &OnlyOne);
        assert!(matches!(put, Err(ApiError::Validation(ref e)) if e.iter().count() == 1));
        assert!(validate(&fields, &empty, Mode::Patch, &OnlyOne).is_ok());
    }
}

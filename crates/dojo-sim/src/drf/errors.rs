//! Error bodies in the shapes DRF + DefectDojo's `custom_exception_handler` produce
//! (dojo/api_v2/exception_handler.py, docs/defectdojo.md §4).

use std::fmt;

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde_json::{json, Map, Value};

use super::pyrepr;

/// Added by `ErrorPageProductAnnouncement` to every error that goes through the handler's
/// `ValidationError` / 500 branches.
pub const PRO_ANNOUNCEMENT: &str =
    "Pro comes with support. Try today for free or email us at hello@defectdojo.com";

/// One DRF `ErrorDetail`: message plus machine code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorItem {
    pub message: String,
    pub code: &'static str,
}

impl ErrorItem {
    pub fn new(message: impl Into<String>, code: &'static str) -> Self {
        Self {
            message: message.into(),
            code,
        }
    }

    pub fn required() -> Self {
        Self::new("This field is required.", "required")
    }

    pub fn null() -> Self {
        Self::new("This field may not be null.", "null")
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(message, "invalid")
    }

    /// django-filter / Django forms `ChoiceField`.
    pub fn invalid_choice(value: &str) -> Self {
        Self::new(
            format!("Select a valid choice. {value} is not one of the available choices."),
            "invalid_choice",
        )
    }
}

/// Ordered `{field: [ErrorDetail, ...]}`; the order is the serializer's field order, which is
/// what Python prints in `"message"`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, Vec<ErrorItem>)>);

impl FieldErrors {
    pub fn single(field: &str, item: ErrorItem) -> Self {
        let mut errors = Self::default();
        errors.add(field, item);
        errors
    }

    /// An object-level `serializers.ValidationError(msg)` from a serializer's `validate()`.
    pub fn non_field(message: impl Into<String>) -> Self {
        Self::single("non_field_errors", ErrorItem::invalid(message))
    }

    pub fn add(&mut self, field: &str, item: ErrorItem) {
        match self.0.iter_mut().find(|(name, _)| name == field) {
            Some((_, items)) => items.push(item),
            None => self.0.push((field.to_string(), vec![item])),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, Vec<ErrorItem>)> {
        self.0.iter()
    }

    /// `{field: [message, ...]}` as DRF renders `serializer.errors`.
    pub fn to_map(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(field, items)| {
                let messages = items.iter().map(|i| Value::from(i.message.clone()));
                (field.clone(), Value::Array(messages.collect()))
            })
            .collect()
    }

    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Everything a handler can answer besides success.
#[derive(Debug)]
pub enum ApiError {
    /// `{"detail": ...}` (authentication, 404, permission-check parse errors, 405). DRF's
    /// handler adds no `"message"` because `str(exc)` equals the detail.
    Detail { status: StatusCode, detail: String },
    /// A `ValidationError` through `custom_exception_handler`: field errors plus `"message"`
    /// (Python repr) and `"pro"`.
    Validation(FieldErrors),
    /// `Response(serializer.errors, status=400)` returned directly by a view (the finding
    /// actions): just the field errors.
    ViewErrors(FieldErrors),
    /// DRF `ParseError` on a body that is not JSON.
    MalformedJson,
    /// A view answering an arbitrary JSON body (e.g. `{"error": ...}` from `remove_tags`).
    Body { status: StatusCode, body: Value },
    /// An unhandled exception: 500 with the generic message (api_expose_error_details off).
    Internal,
}

impl ApiError {
    pub fn detail(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::Detail {
            status,
            detail: detail.into(),
        }
    }

    /// Django's `Http404` from `get_object_or_404`: "No <Model> matches the given query."
    pub fn not_found(model: &str) -> Self {
        Self::detail(
            StatusCode::NOT_FOUND,
            format!("No {model} matches the given query."),
        )
    }

    /// DefectDojo's POST permission check (dojo/authorization/api_permissions.py:65) runs before
    /// validation and fails with a `ParseError` when the parent id is missing (LIVE 09, 11, 13, 17).
    pub fn permission_attribute_required(attribute: &str) -> Self {
        Self::detail(
            StatusCode::BAD_REQUEST,
            format!("Unable to check for permissions: Attribute '{attribute}' is required"),
        )
    }

    pub fn method_not_allowed(method: &str) -> Self {
        Self::detail(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method \"{method}\" not allowed."),
        )
    }

    pub fn non_field(message: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::non_field(message))
    }

    pub fn body(status: StatusCode, body: Value) -> Self {
        Self::Body { status, body }
    }

    fn body_json(&self) -> Value {
        match self {
            Self::Detail { detail, .. } => json!({ "detail": detail }),
            Self::Validation(errors) => {
                let mut map = errors.to_map();
                map.insert(
                    "message".into(),
                    Value::from(pyrepr::validation_error(errors)),
                );
                map.insert("pro".into(), json!([PRO_ANNOUNCEMENT]));
                Value::Object(map)
            }
            Self::ViewErrors(errors) => Value::Object(errors.to_map()),
            Self::MalformedJson => json!({ "message": "JSON request content is malformed" }),
            Self::Body { body, .. } => body.clone(),
            Self::Internal => json!({
                "message": "Internal server error, check logs for details",
                "pro": [PRO_ANNOUNCEMENT],
            }),
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status_code(), self.body_json())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Detail { status, .. } | Self::Body { status, .. } => *status,
            Self::Validation(_) | Self::ViewErrors(_) | Self::MalformedJson => {
                StatusCode::BAD_REQUEST
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(self.body_json())
    }
}

pub type ApiResult<T = HttpResponse> = Result<T, ApiError>;

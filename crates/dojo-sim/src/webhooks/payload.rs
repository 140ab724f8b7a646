//! Webhook bodies: DefectDojo renders a YAML template per event and posts it as JSON
//! (dojo/notifications/helper.py:518-555; templates in
//! dojo/templates/notifications/webhooks/). Events without their own template use `other.tpl`
//! = base only: `{description, title, user, url_ui}` (docs/defectdojo.md §6). Field order follows the
//! templates; `user` is null for the system webhook.

use serde::Serialize;

#[derive(Serialize)]
struct ObjectRef<'a> {
    name: &'a str,
    id: u64,
    url_ui: String,
    url_api: String,
}

#[derive(Serialize)]
struct TestRef<'a> {
    title: &'a str,
    id: u64,
    url_ui: String,
    url_api: String,
}

/// `base.tpl`, optionally extended with the product hierarchy of the event.
#[derive(Serialize)]
struct Body<'a> {
    description: String,
    title: String,
    user: Option<()>,
    url_ui: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url_api: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_type: Option<ObjectRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<ObjectRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    engagement: Option<ObjectRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<TestRef<'a>>,
}

/// A rendered notification ready to be posted.
#[derive(Clone, Debug)]
pub struct Event {
    /// Sent as `X-DefectDojo-Event`.
    pub name: &'static str,
    pub body: Vec<u8>,
}

/// Builds event bodies with links under the instance's `DD_SITE_URL`.
pub struct Events<'s> {
    pub site: &'s str,
}

impl Events<'_> {
    fn obj<'a>(&self, name: &'a str, id: u64, ui: &str, api: &str) -> ObjectRef<'a> {
        ObjectRef {
            name,
            id,
            url_ui: format!("{}/{ui}/{id}", self.site),
            url_api: format!("{}/api/v2/{api}/{id}/", self.site),
        }
    }

    fn event(name: &'static str, body: &Body<'_>) -> Event {
        Event {
            name,
            // serializing plain structs of strings and numbers cannot fail
            body: super::pyjson::to_vec(body).unwrap_or_default(),
        }
    }

    fn simple(&self, description: String, title: String, url_ui: String) -> Body<'static> {
        Body {
            description,
            title,
            user: None,
            url_ui,
            url_api: None,
            product_type: None,
            product: None,
            engagement: None,
            test: None,
        }
    }

    /// raw/0001: "Organization <name> has been created successfully."
    pub fn product_type_added(&self, id: u64, name: &str) -> Event {
        let obj = self.obj(name, id, "organization", "product_types");
        let body = Body {
            url_api: Some(obj.url_api.clone()),
            product_type: Some(self.obj(name, id, "organization", "product_types")),
            ..self.simple(
                format!("Organization {name} has been created successfully."),
                name.to_string(),
                obj.url_ui.clone(),
            )
        };
        Self::event("product_type_added", &body)
    }

    /// raw/0002: "Asset <name> has been created successfully."
    pub fn product_added(&self, pt: (u64, &str), p: (u64, &str)) -> Event {
        let product = self.obj(p.1, p.0, "asset", "products");
        let body = Body {
            url_api: Some(product.url_api.clone()),
            product_type: Some(self.obj(pt.1, pt.0, "organization", "product_types")),
            product: Some(self.obj(p.1, p.0, "asset", "products")),
            ..self.simple(
                format!("Asset {} has been created successfully.", p.1),
                p.1.to_string(),
                product.url_ui.clone(),
            )
        };
        Self::event("product_added", &body)
    }

    /// raw/0003: `Engagement created for "<product>": <engagement>`.
    pub fn engagement_added(&self, pt: (u64, &str), p: (u64, &str), e: (u64, &str)) -> Event {
        let engagement = self.obj(e.1, e.0, "engagement", "engagements");
        let body = Body {
            url_api: Some(engagement.url_api.clone()),
            product_type: Some(self.obj(pt.1, pt.0, "organization", "product_types")),
            product: Some(self.obj(p.1, p.0, "asset", "products")),
            engagement: Some(self.obj(e.1, e.0, "engagement", "engagements")),
            ..self.simple(
                "Event engagement_added has occurred.".to_string(),
                format!("Engagement created for \"{}\": {}", p.1, e.1),
                engagement.url_ui.clone(),
            )
        };
        Self::event("engagement_added", &body)
    }

    /// raw/0015: fired by `POST /engagements/{id}/close/`.
    pub fn engagement_closed(&self, id: u64, name: &str) -> Event {
        let body = self.simple(
            format!("The engagement \"{name}\" was closed"),
            format!("Closure of {name}"),
            format!("{}/engagement/{id}/finding/all", self.site),
        );
        Self::event("engagement_closed", &body)
    }

    /// raw/0018: fired by `POST /engagements/{id}/reopen/`.
    pub fn engagement_reopened(&self, id: u64, name: &str) -> Event {
        let body = self.simple(
            format!("The engagement \"{name}\" was reopened"),
            format!("Reopening of {name}"),
            format!("{}/engagement/{id}", self.site),
        );
        Self::event("engagement_reopened", &body)
    }

    /// raw/0004: fired (via celery) by `FindingCreateSerializer.create` (serializer.py:754).
    pub fn finding_added(&self, id: u64, title: &str, reporter: &str) -> Event {
        let body = self.simple(
            format!("Finding \"{title}\" was added by {reporter}"),
            format!("Addition of {title}"),
            format!("{}/finding/{id}", self.site),
        );
        Self::event("finding_added", &body)
    }

    /// raw/0006: fired by `close_finding` (helper.py:1411), i.e. `POST /findings/{id}/close/`.
    pub fn finding_closed(&self, id: u64, title: &str, user: &str) -> Event {
        let body = self.simple(
            format!("The finding \"{title}\" was closed by {user}"),
            format!("Closing of {title}"),
            format!("{}/finding/{id}", self.site),
        );
        Self::event("finding_closed", &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: &Event) -> String {
        String::from_utf8(e.body.clone()).unwrap_or_default()
    }

    #[test]
    fn bodies_match_recorded_bytes() {
        let ev = Events { site: "{DD_URL}" };
        // recorded/webhooks/raw/0001-product_type_added.json body_raw
        assert_eq!(
            text(&ev.product_type_added(2, "WSTG Research PT")),
            r#"{"description": "Organization WSTG Research PT has been created successfully.", "title": "WSTG Research PT", "user": null, "url_ui": "{DD_URL}/organization/2", "url_api": "{DD_URL}/api/v2/product_types/2/", "product_type": {"name": "WSTG Research PT", "id": 2, "url_ui": "{DD_URL}/organization/2", "url_api": "{DD_URL}/api/v2/product_types/2/"}}"#
        );
        // raw/0006
        assert_eq!(
            text(&ev.finding_closed(
                1,
                "WSTG-INFO-01 Conduct Search Engine Discovery (Google Dorks) for Info Leakage",
                "admin"
            )),
            r#"{"description": "The finding \"WSTG-INFO-01 Conduct Search Engine Discovery (Google Dorks) for Info Leakage\" was closed by admin", "title": "Closing of WSTG-INFO-01 Conduct Search Engine Discovery (Google Dorks) for Info Leakage", "user": null, "url_ui": "{DD_URL}/finding/1"}"#
        );
    }
}

//! `Dojo_User`: the simulator has exactly one, the superuser `admin` (id 1) that owns the API
//! token, as on the recorded instance (LIVE 05).

use serde_json::{json, Value};

use crate::clock::{self, Timestamp};

pub const ADMIN_ID: u64 = 1;

#[derive(Clone, Debug)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub date_joined: Timestamp,
}

impl User {
    pub fn admin() -> Self {
        Self {
            id: ADMIN_ID,
            username: "admin".into(),
            first_name: "Admin".into(),
            last_name: "User".into(),
            email: "admin@defectdojo.local".into(),
            date_joined: clock::now(),
        }
    }

    /// `Dojo_User.generate_full_name`: "First Last (username)", used in auto notes.
    pub fn full_name(&self) -> String {
        format!("{} {} ({})", self.first_name, self.last_name, self.username)
    }

    /// `UserStubSerializer`.
    pub fn stub(&self) -> Value {
        json!({
            "id": self.id,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
        })
    }

    /// `GET /user_profile/` (LIVE 05).
    pub fn profile(&self) -> Value {
        json!({
            "user": {
                "id": self.id,
                "username": self.username,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "email": self.email,
                "date_joined": clock::format_datetime(&self.date_joined),
                "last_login": null,
                "is_active": true,
                "is_staff": true,
                "is_superuser": true,
                "token_last_reset": null,
                "password_last_reset": null,
                "configuration_permissions": [],
            },
            "user_contact_info": null,
        })
    }
}

//! The alert rules. Each has a stable snake_case name: it is the `rule`
//! field of the JSON body, the incident's key in Redis, and the name the
//! docs (docs/operations.md, "Alerts") use.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// More dead letters than `alert.dead_letters_max`.
    DeadLetters,
    /// DefectDojo unreachable for longer than `alert.dojo_unreachable_secs`.
    DojoUnreachable,
    /// No successful sync for longer than `alert.sync_stale_secs`.
    SyncStale,
    /// More items of a project in conflict than `alert.conflicts_max`.
    Conflicts,
    /// Pending items above `alert.pending_percent` % of a project's items.
    Pending,
    /// The oldest unfinished event older than `alert.backlog_age_secs`.
    BacklogAge,
}

impl Rule {
    pub const ALL: [Rule; 6] = [
        Rule::DeadLetters,
        Rule::DojoUnreachable,
        Rule::SyncStale,
        Rule::Conflicts,
        Rule::Pending,
        Rule::BacklogAge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::DeadLetters => "dead_letters",
            Rule::DojoUnreachable => "dojo_unreachable",
            Rule::SyncStale => "sync_stale",
            Rule::Conflicts => "conflicts",
            Rule::Pending => "pending",
            Rule::BacklogAge => "backlog_age",
        }
    }

    /// Rules measured per project (the incident key names the project).
    pub fn per_project(self) -> bool {
        matches!(self, Rule::Conflicts | Rule::Pending)
    }

    pub fn parse(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// The incident key: the rule, and for per-project rules `:<project>`.
pub fn incident_key(rule: Rule, project: Option<&str>) -> String {
    match project {
        Some(p) => format!("{}:{p}", rule.as_str()),
        None => rule.as_str().to_owned(),
    }
}

/// The rule of an incident key (project names may hold `:`; rule names do not).
pub fn rule_of_key(key: &str) -> Option<Rule> {
    Rule::parse(key.split(':').next()?)
}

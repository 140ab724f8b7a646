//! How the poller learns of DefectDojo changes (docs/sync-rules.md, polling).

use serde::Deserialize;

/// `poller.feed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollFeed {
    /// One full list of each project's WSTG test per pass: idle cost grows
    /// with the projects (the original behaviour, kept as the baseline).
    PerTest,
    /// One list per pass for every product type the replica's projects are
    /// under, newest status change first, read down to a watermark; each
    /// test is still read in full every `poller.full_scan_secs`.
    PerProductType,
}

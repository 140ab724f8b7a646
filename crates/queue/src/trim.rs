//! Bounding `P:events` without losing work.
//!
//! Why not `MAXLEN`: workers XACK **and XDEL** each entry once its effect is
//! stored, so every entry still in the stream is unfinished work, either
//! not yet delivered or delivered and pending (PEL). A `MAXLEN` trim cuts
//! the oldest of those, which are exactly the ones a crashed worker left
//! pending: the events would vanish with no dead letter. Redis trims by
//! position, not by acknowledgement, whatever the group state.
//!
//! What is safe instead:
//! - **Backpressure** bounds the stream: the ingest answers 503 with
//!   Retry-After once [`Queue::backlog`] passes its configured size, so the
//!   stream cannot outgrow what the workers drain (see wstg-ingest).
//! - [`Queue::trim_acknowledged`] is housekeeping for entries that were
//!   acked but not deleted (an XDEL lost between two script runs, an
//!   operator's XACK by hand): `XTRIM MINID ~ <m>` where `m` is, over every
//!   group, the smallest pending id, or the last-delivered id when nothing
//!   is pending. Everything below `m` was delivered to every group and is
//!   acked by all; `~` only ever trims less than asked. With no group at all
//!   nothing is trimmed (nobody has read anything).

use redis::Script;
use std::sync::LazyLock;

use crate::error::QueueError;
use crate::queue::Queue;

/// KEYS: events. Returns the number of entries trimmed.
static TRIM_ACKNOWLEDGED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local function lt(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams < bms or (ams == bms and aseq < bseq)
end
local floor = nil
for _, g in ipairs(groups) do
  local name, last = nil, nil
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local candidate = last
  local summary = redis.call('XPENDING', KEYS[1], name)
  if summary[1] > 0 then candidate = summary[2] end
  if floor == nil or lt(candidate, floor) then floor = candidate end
end
if floor == nil or floor == '0-0' then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', '~', floor)
",
    )
});

impl Queue {
    /// Entries in `P:events`: undelivered plus delivered-but-unacked work.
    /// The ingest compares it with its backpressure limit.
    pub async fn backlog(&self) -> Result<u64, QueueError> {
        Ok(redis::cmd("XLEN")
            .arg(&self.keys.events)
            .query_async(&mut self.conn.clone())
            .await?)
    }

    /// Trims entries every group has had delivered and acknowledged (see the
    /// module doc); never an undelivered or pending one. Returns how many.
    pub async fn trim_acknowledged(&self) -> Result<u64, QueueError> {
        Ok(TRIM_ACKNOWLEDGED
            .key(&self.keys.events)
            .invoke_async(&mut self.conn.clone())
            .await?)
    }
}

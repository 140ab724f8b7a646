//! The Lua scripts. Each one is a step that must not be seen half done by
//! another replica or survive a crash half done: Redis runs a script as one
//! atomic unit, so "check then write" races (two replicas promoting the same
//! retry, two operators replaying the same dead letter) cannot happen.
//!
//! Every key a script touches is passed in KEYS (never built inside Lua), as
//! Redis Cluster requires. A script writes only after its last command that
//! can fail on bad input: Redis does not roll back a script that errors
//! halfway.
//!
//! `redis::Script` sends EVALSHA and falls back to loading the script on
//! NOSCRIPT, so a Redis restart (which empties the script cache) is handled.

use std::sync::LazyLock;

use redis::Script;

/// `add(stream, maxlen, data, event_id)`: XADD in the stream entry layout of
/// [`crate::entry`] (`data`, then `event_id` unless empty), with an
/// approximate MAXLEN when `maxlen` > 0. Prepended to scripts that enqueue.
const ADD_FN: &str = r"
local function add(stream, maxlen, data, event_id)
  local args = {stream}
  if tonumber(maxlen) > 0 then
    args[#args + 1] = 'MAXLEN'
    args[#args + 1] = '~'
    args[#args + 1] = maxlen
  end
  args[#args + 1] = '*'
  args[#args + 1] = 'data'
  args[#args + 1] = data
  if event_id ~= '' then
    args[#args + 1] = 'event_id'
    args[#args + 1] = event_id
  end
  return redis.call('XADD', unpack(args))
end
";

fn with_add(body: &str) -> Script {
    Script::new(&format!("{ADD_FN}{body}"))
}

/// Publish once per idempotency key.
///
/// KEYS: idem key, events. ARGV: ttl ms, event_id, data, maxlen, request
/// fingerprint. The record is `<event_id> <fingerprint>`.
/// Returns `{1, stream id}` when added, `{0, first event_id}` for a duplicate
/// (same fingerprint, or a record written before fingerprints existed), and
/// `{2, first event_id}` when the key was used for another request.
pub static PUBLISH_IDEMPOTENT: LazyLock<Script> = LazyLock::new(|| {
    with_add(
        r"
local existing = redis.call('GET', KEYS[1])
if existing then
  local sp = string.find(existing, ' ', 1, true)
  if not sp then
    return {0, existing}
  end
  local first = string.sub(existing, 1, sp - 1)
  if string.sub(existing, sp + 1) == ARGV[5] then
    return {0, first}
  end
  return {2, first}
end
local id = add(KEYS[2], ARGV[4], ARGV[3], ARGV[2])
redis.call('SET', KEYS[1], ARGV[2] .. ' ' .. ARGV[5], 'PX', ARGV[1])
return {1, id}
",
    )
});

/// Schedule a retry, optionally acking the delivery it replaces in the same
/// step (so a crash cannot leave both, or neither).
///
/// KEYS: delayed, delayed data, failed_at key, events.
/// ARGV: due ms, event_id, data, now (RFC 3339), failed_at ttl ms, group,
/// source stream id ('' = none).
/// Returns 1 if the source entry was acked, else 0.
pub static SCHEDULE_RETRY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local acked = 0
if ARGV[7] ~= '' then
  acked = redis.call('XACK', KEYS[4], ARGV[6], ARGV[7])
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4], 'NX', 'PX', ARGV[5])
if acked == 1 then
  redis.call('XDEL', KEYS[4], ARGV[7])
end
return acked
",
    )
});

/// Deferred work: add unless the member is already waiting.
///
/// KEYS: delayed, delayed data. ARGV: due ms, event id, envelope JSON.
pub static DEFER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
",
    )
});

/// Move due retries onto the events stream.
///
/// KEYS: delayed, delayed data, events. ARGV: now ms, limit, maxlen.
/// Returns `{moved, orphans}`; an orphan is a zset member whose data was
/// missing (dropped, since there is nothing to deliver).
pub static PROMOTE_DUE: LazyLock<Script> = LazyLock::new(|| {
    with_add(
        r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
local orphans = 0
for _, eid in ipairs(ids) do
  local data = redis.call('HGET', KEYS[2], eid)
  redis.call('ZREM', KEYS[1], eid)
  redis.call('HDEL', KEYS[2], eid)
  if data then
    add(KEYS[3], ARGV[3], data, eid)
    moved = moved + 1
  else
    orphans = orphans + 1
  end
end
return {moved, orphans}
",
    )
});

/// `bound_dlq(dlq, dropped, max_entries, max_age_ms, limit)`: drops dead
/// letters past the bounds, oldest first: those older than `max_age_ms` (by
/// their id, the time Redis added them; Redis's own clock), then the oldest
/// beyond `max_entries` ('0' = no bound of that kind), at most `limit` in
/// all. Each drop is counted in the `dropped` counter in the same step, so
/// the count is exact however many replicas prune at once. Returns, per
/// drop, `{dlq id, event_id, project, wstg_id, 'age'|'size'}` ('' when
/// unknown) for the caller to log. Prepended to scripts that bound the DLQ.
const BOUND_DLQ_FN: &str = r"
local function bound_dlq(dlq, dropped_key, max_entries, max_age_ms, limit)
  local dropped = {}
  limit = tonumber(limit)
  local function drop(entries, reason)
    for _, e in ipairs(entries) do
      local data, event_id = '', ''
      local f = e[2]
      for i = 1, #f, 2 do
        if f[i] == 'data' then data = f[i + 1] elseif f[i] == 'event_id' then event_id = f[i + 1] end
      end
      local project, wstg_id = '', ''
      local ok, env = pcall(cjson.decode, data)
      if ok and type(env) == 'table' then
        if type(env.project) == 'string' then project = env.project end
        if type(env.wstg_id) == 'string' then wstg_id = env.wstg_id end
        if event_id == '' and type(env.event_id) == 'string' then event_id = env.event_id end
      end
      redis.call('XDEL', dlq, e[1])
      dropped[#dropped + 1] = {e[1], event_id, project, wstg_id, reason}
    end
  end
  if tonumber(max_age_ms) > 0 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local last = now - tonumber(max_age_ms) - 1
    if last >= 0 then
      drop(redis.call('XRANGE', dlq, '-', string.format('%d', last), 'COUNT', limit), 'age')
    end
  end
  if tonumber(max_entries) > 0 then
    local over = redis.call('XLEN', dlq) - tonumber(max_entries)
    local room = limit - #dropped
    if over > 0 and room > 0 then
      drop(redis.call('XRANGE', dlq, '-', '+', 'COUNT', math.min(over, room)), 'size')
    end
  end
  if #dropped > 0 then
    redis.call('INCRBY', dropped_key, #dropped)
  end
  return dropped
end
";

/// Drop dead letters past the bounds (see [`BOUND_DLQ_FN`]).
///
/// KEYS: dlq, dropped counter. ARGV: max entries, max age ms, limit.
pub static BOUND_DLQ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{BOUND_DLQ_FN}return bound_dlq(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])"
    ))
});

/// Dead-letter an event and ack its delivery in one step, then hold the DLQ
/// to its bounds, so a flood of dead letters cannot grow Redis past them.
///
/// KEYS: dlq, events, failed_at key, dropped counter.
/// ARGV: group, source id ('' = none), data, event_id ('' = unknown),
/// attempts, error, dead_at (RFC 3339), max entries, max age ms, limit of
/// drops.
/// The recorded attempts are the larger of ARGV attempts and the source
/// entry's delivery count (an entry that kept killing its workers never got
/// as far as a counted retry). The group commands run under pcall: a source
/// whose stream or group has vanished is simply not pending.
/// Returns `{dead letter id, drops}` (drops as [`BOUND_DLQ_FN`] returns
/// them). The new entry itself is never dropped by its own bound.
pub static DEAD_LETTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{BOUND_DLQ_FN}{}",
        r"
local acked = 0
local attempts = tonumber(ARGV[5])
if ARGV[2] ~= '' then
  local p = redis.pcall('XPENDING', KEYS[2], ARGV[1], ARGV[2], ARGV[2], 1)
  if type(p) == 'table' and p[1] and p[1][4] then
    attempts = math.max(attempts, tonumber(p[1][4]))
  end
  local a = redis.pcall('XACK', KEYS[2], ARGV[1], ARGV[2])
  if type(a) == 'number' then
    acked = a
  end
end
local first = redis.call('GET', KEYS[3])
if not first then
  first = ARGV[7]
end
local fields = {KEYS[1], '*', 'data', ARGV[3]}
if ARGV[4] ~= '' then
  fields[#fields + 1] = 'event_id'
  fields[#fields + 1] = ARGV[4]
end
fields[#fields + 1] = 'attempts'
fields[#fields + 1] = tostring(attempts)
fields[#fields + 1] = 'error'
fields[#fields + 1] = ARGV[6]
fields[#fields + 1] = 'first_failed_at'
fields[#fields + 1] = first
fields[#fields + 1] = 'dead_at'
fields[#fields + 1] = ARGV[7]
if ARGV[2] ~= '' then
  fields[#fields + 1] = 'source_id'
  fields[#fields + 1] = ARGV[2]
end
local id = redis.call('XADD', unpack(fields))
redis.call('DEL', KEYS[3])
if acked == 1 then
  redis.call('XDEL', KEYS[2], ARGV[2])
end
local dropped = bound_dlq(KEYS[1], KEYS[4], ARGV[8], ARGV[9], ARGV[10])
return {id, dropped}
"
    ))
});

/// Move one dead letter back onto the events stream, unless someone else
/// already did (the XDEL is the claim).
///
/// KEYS: dlq, events. ARGV: dlq id, data, event_id ('' = unknown), maxlen.
/// Returns the new stream id, or nil if the dead letter was gone.
pub static DLQ_REPLAY: LazyLock<Script> = LazyLock::new(|| {
    with_add(
        r"
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return false
end
return add(KEYS[2], ARGV[4], ARGV[2], ARGV[3])
",
    )
});

/// Delete the dead-letter stream; returns how many entries it held.
///
/// KEYS: dlq.
pub static DLQ_PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = redis.call('XLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
",
    )
});

/// Delete consumers that own no pending entries and have been idle at least
/// `min idle` ms. Checking and deleting in one step matters: XGROUP
/// DELCONSUMER discards the consumer's pending entries, which would then
/// never be redelivered.
///
/// KEYS: events. ARGV: group, min idle ms. Returns how many were deleted.
pub static PRUNE_CONSUMERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local deleted = 0
local min_idle = tonumber(ARGV[2])
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do
    info[c[i]] = c[i + 1]
  end
  if tonumber(info['pending']) == 0 and tonumber(info['idle']) >= min_idle then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    deleted = deleted + 1
  end
end
return deleted
",
    )
});

/// KEYS: old name, new name. Renames unless the new name exists (0) or the
/// old key vanished since it was listed (an expired lease: -1), instead of
/// failing on it like a bare RENAMENX. Only for the pre-hash-tag layout,
/// which existed on single servers only (the two keys are in different
/// cluster slots).
pub static RENAME_LEGACY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('RENAMENX', KEYS[1], KEYS[2])
",
    )
});

/// Resets the idle time of entries a live consumer still holds (a
/// heartbeat), so `XAUTOCLAIM` elsewhere only takes entries whose holder
/// stopped. Only entries still pending to ARGV[2] are touched: one another
/// replica already claimed stays theirs (a bare XCLAIM would take it back).
/// `JUSTID` leaves the delivery count alone.
///
/// KEYS: events. ARGV: group, consumer, ids… Returns how many were touched.
pub static TOUCH_HELD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local touched = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    touched = touched + 1
  end
end
return touched
",
    )
});

/*!
 * wstg-sync.js: keeps a browser WSTG checklist in two-way sync with
 * DefectDojo through wstg-bridge. Served by wstg-ingest at /static/wstg-sync.js.
 *
 * Two uses:
 *  - the bridge's own tracker page uses `WSTGSync.Client` (queue + live feed);
 *  - an existing static tracker adds one <script> and gets the same sync:
 *    `WSTGSync.start(config)` (or automatic start from `window.WSTGSyncConfig`
 *    or the script tag's data-* attributes). See docs/tracker.md.
 *
 * What it does better than the original design's WSTGSyncManager:
 *  - a change is never dropped: it waits in localStorage until the bridge
 *    takes it or refuses it for good (a 4xx names the reason; the refused
 *    change is kept in a "rejected" list the user can see and dismiss);
 *  - changes are delivered one at a time, oldest first, each with an
 *    Idempotency-Key, so a resend after a lost answer is applied once;
 *  - retries back off exponentially (1 s … 30 s, with jitter, honouring
 *    Retry-After) and restart at once when the bridge is seen again;
 *  - statuses are mapped through a configurable vocabulary;
 *  - DefectDojo-side changes come back over the live feed (server-sent
 *    events read with fetch, so a bearer token works) and are written into
 *    the host tracker's storage.
 *
 * Plain JavaScript, no dependencies, no build step. The token is never
 * logged or shown.
 */
(function (root) {
  'use strict';

  var STATUSES = ['not_started', 'in_progress', 'blocked', 'done', 'not_applicable'];
  var NOTES_MAX_BYTES = 65536;
  var SEND_TIMEOUT_MS = 15000;
  var STREAM_IDLE_MS = 45000; // the bridge sends a keep-alive every 15 s

  // The origin this script was loaded from: the bridge, by default.
  var scriptEl = typeof document !== 'undefined' ? document.currentScript : null;
  var SCRIPT_ORIGIN = null;
  try {
    if (scriptEl && scriptEl.src) SCRIPT_ORIGIN = new URL(scriptEl.src, location.href).origin;
  } catch (e) { /* no origin: fall back to the page's */ }

  function uuid() {
    if (root.crypto && typeof root.crypto.randomUUID === 'function') return root.crypto.randomUUID();
    var b = new Uint8Array(16);
    root.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  function utf8Length(s) {
    return typeof TextEncoder !== 'undefined' ? new TextEncoder().encode(s).length : s.length;
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // localStorage.getItem/setItem as they were before anyone wrapped them.
  var nativeSetItem = root.Storage ? root.Storage.prototype.setItem : null;
  var nativeGetItem = root.Storage ? root.Storage.prototype.getItem : null;
  function lsGet(key) {
    try { return nativeGetItem.call(root.localStorage, key); } catch (e) { return null; }
  }
  function lsSet(key, value) {
    nativeSetItem.call(root.localStorage, key, value);
  }
  function readJSON(key, fallback) {
    var raw = lsGet(key);
    if (raw == null) return fallback;
    try { return JSON.parse(raw); } catch (e) { return fallback; }
  }

  /** A small event emitter. */
  function Emitter() { this._l = {}; }
  Emitter.prototype.on = function (type, fn) {
    (this._l[type] = this._l[type] || []).push(fn);
    return this;
  };
  Emitter.prototype.off = function (type, fn) {
    this._l[type] = (this._l[type] || []).filter(function (f) { return f !== fn; });
    return this;
  };
  Emitter.prototype.emit = function (type, data) {
    (this._l[type] || []).slice().forEach(function (fn) {
      try { fn(data); } catch (e) { if (root.console) console.error('wstg-sync listener failed:', e); }
    });
  };

  /** Why a send did not go through, in words for the user. */
  function describeFailure(res) {
    if (res.kind === 'network') return 'the bridge could not be reached';
    if (res.body && res.body.error) return res.body.error;
    return 'the bridge answered ' + res.status;
  }

  /**
   * The sync client: a persistent, ordered outbound queue and a live feed of
   * item changes.
   *
   * options: endpoint (bridge base URL; default: where this script came
   * from), token (string or function returning one), project, user,
   * namespace (localStorage key prefix, default "wstg-sync"),
   * retryBaseMs (1000), retryMaxMs (30000), streamRetryMaxMs (10000).
   */
  function Client(options) {
    Emitter.call(this);
    var o = options || {};
    this.endpoint = String(o.endpoint || SCRIPT_ORIGIN || root.location.origin).replace(/\/+$/, '');
    this._token = o.token != null ? o.token : null;
    this.project = o.project || null;
    this.user = o.user || null;
    this.ns = o.namespace || 'wstg-sync';
    this.retryBaseMs = o.retryBaseMs || 1000;
    this.retryMaxMs = o.retryMaxMs || 30000;
    this.streamRetryMaxMs = o.streamRetryMaxMs || 10000;
    this.queueKey = this.ns + ':queue';
    this.rejectedKey = this.ns + ':rejected';
    this.state = 'idle'; // idle | sending | offline | auth
    this.nextRetryAt = null;
    this.lastError = null;
    this.streamState = 'closed'; // closed | connecting | live | offline | auth
    this._inflight = null;
    this._flushing = false;
    this._timer = null;
    this._attempts = 0;
    this._lastSent = {};
    this._stream = null;
    var self = this;
    if (root.addEventListener) {
      root.addEventListener('online', function () { self.retryNow(); });
      root.addEventListener('storage', function (e) {
        if (e.key === self.queueKey || e.key === self.rejectedKey) self.emit('queue', self.queue());
      });
      if (typeof document !== 'undefined') {
        document.addEventListener('visibilitychange', function () {
          if (document.visibilityState === 'visible' && self.queue().length) self.retryNow();
        });
      }
    }
  }
  Client.prototype = Object.create(Emitter.prototype);
  Client.prototype.constructor = Client;

  Client.prototype.token = function () {
    var t = typeof this._token === 'function' ? this._token() : this._token;
    return t ? String(t) : null;
  };

  /** Sets the bearer token and retries at once (queue and live feed). */
  Client.prototype.setToken = function (token) {
    this._token = token || null;
    this.reconnect();
  };

  /** Tries again now: the queue and the live feed (after a token change). */
  Client.prototype.reconnect = function () {
    if (this.state === 'auth') this.state = 'idle';
    this.retryNow();
    if (this._stream) this._stream.restart();
  };

  Client.prototype._headers = function (extra) {
    var h = extra || {};
    var t = this.token();
    if (t) h.Authorization = 'Bearer ' + t;
    return h;
  };

  /** A JSON call to the bridge: resolves {ok, status, body} and never throws. */
  Client.prototype.request = function (method, path, body, extraHeaders, timeoutMs) {
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, timeoutMs || SEND_TIMEOUT_MS);
    var headers = this._headers(extraHeaders || {});
    if (body !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
    return root.fetch(this.endpoint + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      signal: ctrl.signal,
      cache: 'no-store',
      credentials: 'omit'
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
        return {
          ok: resp.ok, status: resp.status, body: parsed,
          retryAfter: Number(resp.headers.get('Retry-After')) || null,
          kind: resp.ok ? 'ok' : 'http'
        };
      });
    }).catch(function (err) {
      // No answer, or the answer broke off (timeout, connection lost).
      return { ok: false, status: 0, body: null, kind: 'network', error: String(err && err.message || err) };
    }).finally(function () { clearTimeout(timer); });
  };

  // ---- the outbound queue ----------------------------------------------

  Client.prototype.queue = function () {
    var q = readJSON(this.queueKey, []);
    return Array.isArray(q) ? q : [];
  };
  Client.prototype._writeQueue = function (q) {
    lsSet(this.queueKey, JSON.stringify(q));
  };
  /** Changes the bridge refused for good, newest last. */
  Client.prototype.rejected = function () {
    var r = readJSON(this.rejectedKey, []);
    return Array.isArray(r) ? r : [];
  };
  Client.prototype.dismissRejected = function (key) {
    lsSet(this.rejectedKey, JSON.stringify(this.rejected().filter(function (r) { return key && r.key !== key; })));
    this.emit('queue', this.queue());
  };
  /** Queued changes of one item (oldest first). */
  Client.prototype.pendingFor = function (wstgId) {
    return this.queue().filter(function (e) { return e.body.wstg_id === wstgId; });
  };
  Client.prototype.inflight = function () { return this._inflight; };

  /**
   * Queues a change and starts sending. change: {wstg_id, status, notes?,
   * timestamp?, project?, user?}. Throws an Error with a message for the
   * user when the change cannot be valid.
   */
  Client.prototype.enqueue = function (change) {
    var c = change || {};
    var id = typeof c.wstg_id === 'string' ? c.wstg_id.trim() : '';
    if (!id) throw new Error('wstg_id: is required');
    if (typeof c.status !== 'string' || !c.status.trim()) throw new Error(id + ': status is required');
    if (c.notes != null && typeof c.notes !== 'string') throw new Error(id + ': notes must be text');
    if (c.notes != null && utf8Length(c.notes) > NOTES_MAX_BYTES) {
      throw new Error(id + ': notes are ' + utf8Length(c.notes) + ' bytes long; the limit is ' + NOTES_MAX_BYTES + ' bytes');
    }
    var body = { wstg_id: id, status: c.status.trim() };
    if (c.notes != null) body.notes = c.notes;
    body.timestamp = c.timestamp || new Date().toISOString();
    var project = c.project || this.project;
    if (project) body.project = project;
    var user = c.user || this.user;
    if (user) body.user = user;
    // The item's assignee (absent: kept; null: cleared).
    if (c.assignee !== undefined) body.assignee = c.assignee;
    var entry = { key: uuid(), body: body, queuedAt: new Date().toISOString(), attempts: 0 };
    var q = this.queue();
    q.push(entry);
    this._writeQueue(q); // may throw (storage full): the caller shows it
    this.emit('queue', q);
    this.flush();
    return entry;
  };

  Client.prototype._remove = function (key) {
    var q = this.queue().filter(function (e) { return e.key !== key; });
    this._writeQueue(q);
    return q;
  };

  Client.prototype._update = function (key, fn) {
    var q = this.queue();
    q.forEach(function (e) { if (e.key === key) fn(e); });
    this._writeQueue(q);
  };

  Client.prototype._setState = function (state) {
    this.state = state;
    this.emit('status', { state: state, nextRetryAt: this.nextRetryAt, error: this.lastError, queued: this.queue().length });
  };

  /** Sends now instead of waiting for the next retry. */
  Client.prototype.retryNow = function () {
    if (this._timer) { clearTimeout(this._timer); this._timer = null; }
    this.nextRetryAt = null;
    if (this.state === 'auth' && !this.token()) return;
    this.flush();
  };

  /**
   * Delivers the queue, oldest first, one change at a time. Only one tab
   * sends at once (Web Locks); the others' changes share the same queue.
   */
  Client.prototype.flush = function () {
    var self = this;
    if (self._flushing) return Promise.resolve();
    if (self._timer) return Promise.resolve(); // a retry is scheduled
    self._flushing = true;
    var run = function () { return self._drain(); };
    var p;
    if (root.navigator && root.navigator.locks && root.navigator.locks.request) {
      p = root.navigator.locks.request(self.ns + ':send', { ifAvailable: true }, function (lock) {
        if (!lock) {
          // Another tab is sending; look again shortly.
          self._schedule(2000, false);
          return null;
        }
        return run();
      });
    } else {
      p = run();
    }
    return p.catch(function (e) {
      self._inflight = null;
      if (root.console) console.error('wstg-sync: flush failed', e);
      self._schedule(self._delay(), true);
    }).finally(function () { self._flushing = false; });
  };

  Client.prototype._delay = function (retryAfterSecs) {
    var exp = Math.min(this.retryMaxMs, this.retryBaseMs * Math.pow(2, Math.max(0, this._attempts - 1)));
    var jittered = exp / 2 + Math.random() * exp / 2;
    if (retryAfterSecs) jittered = Math.max(jittered, retryAfterSecs * 1000);
    return Math.round(jittered);
  };

  Client.prototype._schedule = function (ms, announce) {
    var self = this;
    if (self._timer) clearTimeout(self._timer);
    self.nextRetryAt = Date.now() + ms;
    self._timer = setTimeout(function () {
      self._timer = null;
      self.nextRetryAt = null;
      self.flush();
    }, ms);
    if (announce) self._setState(self.state);
  };

  Client.prototype._drain = async function () {
    for (;;) {
      var q = this.queue();
      if (!q.length) {
        this._inflight = null;
        this._attempts = 0;
        if (this.state !== 'auth') this._setState('idle');
        return;
      }
      var head = q[0];
      this._inflight = head;
      this._setState('sending');
      var res = await this.request('POST', '/api/wstg/sync', head.body, { 'Idempotency-Key': head.key });
      this._inflight = null;
      if (res.ok) {
        this._attempts = 0;
        this.lastError = null;
        this._lastSent[head.body.wstg_id] = { status: head.body.status, notes: head.body.notes, at: Date.now() };
        var rest = this._remove(head.key);
        this.emit('sent', { entry: head, response: res.body });
        this.emit('queue', rest);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        this.lastError = 'the bridge needs a valid token';
        this._update(head.key, function (e) { e.attempts += 1; e.lastError = 'token required'; });
        this._setState('auth');
        this.emit('auth', { status: res.status });
        return; // waits for setToken() or retryNow()
      }
      if (res.kind === 'http' && res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        // Refused for good (the change itself is wrong): kept, not dropped,
        // in the rejected list with the bridge's reason.
        var reason = describeFailure(res);
        var rejected = this.rejected();
        rejected.push({ key: head.key, body: head.body, reason: reason, status: res.status, at: new Date().toISOString() });
        lsSet(this.rejectedKey, JSON.stringify(rejected));
        var left = this._remove(head.key);
        this.emit('rejected', { entry: head, reason: reason, status: res.status });
        this.emit('queue', left);
        continue;
      }
      // The bridge is away or busy: keep the change and back off.
      this._attempts += 1;
      this.lastError = describeFailure(res);
      var err = this.lastError;
      this._update(head.key, function (e) { e.attempts += 1; e.lastError = err; });
      this.state = 'offline';
      this._schedule(this._delay(res.retryAfter), true);
      this.emit('queue', this.queue());
      return;
    }
  };

  /**
   * Whether a change of an item that arrived from the bridge should replace
   * what this browser holds: not while a change of the item waits here, and
   * not an echo of an older change of ours arriving after a newer one.
   */
  Client.prototype.remoteApplies = function (item) {
    var id = item && item.wstg_id;
    if (!id) return false;
    var waiting = this.pendingFor(id);
    if (this._inflight && this._inflight.body.wstg_id === id && !waiting.some(function (e) { return e.key === this._inflight.key; }, this)) {
      waiting.unshift(this._inflight);
    }
    if (waiting.length) {
      // Only the bridge's copy of our own latest change (its answer can
      // arrive after the live feed has already told us about it).
      var last = waiting[waiting.length - 1].body;
      return item.status === last.status && (last.notes == null || (item.notes || '') === last.notes);
    }
    var sent = this._lastSent[id];
    if (!sent) return true;
    var fromDojo = item.sync_state === 'synced' && item.last_sync_direction === 'dd->tracker';
    var same = item.status === sent.status && (sent.notes == null || (item.notes || '') === sent.notes);
    if (same || fromDojo || Date.now() - sent.at > 30000) {
      delete this._lastSent[id];
      return true;
    }
    return false;
  };

  // ---- the live feed ----------------------------------------------------

  /**
   * Follows GET /api/wstg/stream for `project` and emits 'item' for each
   * change, 'connected' each time the feed (re)opens (a good moment to
   * reload the full state), and 'stream' with the feed's state.
   */
  Client.prototype.subscribe = function (project) {
    if (this._stream) this._stream.stop();
    var self = this;
    var stopped = false;
    var ctrl = null;
    var lastId = null;
    var failures = 0;
    var wake = null;

    function setState(s) {
      self.streamState = s;
      self.emit('stream', s);
    }

    async function once() {
      ctrl = new AbortController();
      var headers = self._headers({ Accept: 'text/event-stream' });
      if (lastId) headers['Last-Event-ID'] = lastId;
      var url = self.endpoint + '/api/wstg/stream' + (project ? '?project=' + encodeURIComponent(project) : '');
      setState('connecting');
      var resp = await root.fetch(url, { headers: headers, signal: ctrl.signal, cache: 'no-store', credentials: 'omit' });
      if (resp.status === 401 || resp.status === 403) { setState('auth'); return 'auth'; }
      if (!resp.ok || !resp.body) throw new Error('stream answered ' + resp.status);
      failures = 0;
      setState('live');
      self.emit('connected', { project: project });
      self.retryNow(); // the bridge is back: send what waits
      var reader = resp.body.getReader();
      var decoder = new TextDecoder();
      var buf = '';
      var ev = { id: null, event: 'message', data: [] };
      var idle = null;
      var arm = function () {
        if (idle) clearTimeout(idle);
        idle = setTimeout(function () { if (ctrl) ctrl.abort(); }, STREAM_IDLE_MS);
      };
      arm();
      try {
        for (;;) {
          var chunk = await reader.read();
          if (chunk.done) break;
          arm();
          buf += decoder.decode(chunk.value, { stream: true });
          var lines = buf.split(/\r\n|\r|\n/);
          buf = lines.pop();
          for (var i = 0; i < lines.length; i++) {
            var line = lines[i];
            if (line === '') {
              if (ev.id != null) lastId = ev.id;
              if (ev.data.length) dispatch(ev.event, ev.data.join('\n'));
              ev = { id: null, event: 'message', data: [] };
              continue;
            }
            if (line.charAt(0) === ':') continue; // keep-alive comment
            var colon = line.indexOf(':');
            var field = colon < 0 ? line : line.slice(0, colon);
            var value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') ev.data.push(value);
            else if (field === 'event') ev.event = value;
            else if (field === 'id') ev.id = value;
          }
        }
      } finally {
        if (idle) clearTimeout(idle);
      }
      return 'ended';
    }

    function dispatch(type, data) {
      if (type !== 'item') return;
      var item;
      try { item = JSON.parse(data); } catch (e) { return; }
      if (project && item.project && item.project !== project) return;
      self.emit('item', item);
    }

    async function loop() {
      while (!stopped) {
        var outcome;
        try {
          outcome = await once();
        } catch (e) {
          outcome = 'error';
        }
        if (stopped) break;
        if (outcome === 'auth') {
          await new Promise(function (r) { wake = r; setTimeout(r, 30000); });
          wake = null;
          continue;
        }
        failures += 1;
        setState('offline');
        var ms = Math.min(self.streamRetryMaxMs, 500 * Math.pow(2, failures - 1));
        await new Promise(function (r) { wake = r; setTimeout(r, ms / 2 + Math.random() * ms / 2); });
        wake = null;
      }
      setState('closed');
    }

    var handle = {
      stop: function () { stopped = true; if (ctrl) ctrl.abort(); if (wake) wake(); },
      restart: function () { failures = 0; if (ctrl) ctrl.abort(); if (wake) wake(); }
    };
    this._stream = handle;
    loop();
    return handle;
  };

  // ---- the drop-in: binding a static tracker ------------------------------

  var watchers = {}; // storage key -> [binding]
  var storageWrapped = false;

  function wrapStorage() {
    if (storageWrapped || !root.Storage) return;
    storageWrapped = true;
    // Storage.prototype, not localStorage itself: assigning
    // `localStorage.setItem = …` stores an item named "setItem" instead.
    root.Storage.prototype.setItem = function (key, value) {
      var list = this === root.localStorage ? watchers[key] : null;
      if (!list || !list.length) return nativeSetItem.apply(this, arguments);
      var before = nativeGetItem.call(this, key);
      var result = nativeSetItem.apply(this, arguments);
      list.forEach(function (b) { b._hostWrote(before, String(value)); });
      return result;
    };
  }

  function stateOf(raw, path) {
    if (raw == null) return {};
    var parsed;
    try { parsed = typeof raw === 'string' ? JSON.parse(raw) : raw; } catch (e) { return {}; }
    if (!parsed || typeof parsed !== 'object') return {};
    if (path) return parsed[path] && typeof parsed[path] === 'object' ? parsed[path] : {};
    if (parsed.results && typeof parsed.results === 'object' && !Array.isArray(parsed.results)) return parsed.results;
    return parsed;
  }

  function entryOf(v) {
    if (v == null) return null;
    if (typeof v === 'string') return { status: v, notes: undefined };
    if (typeof v === 'object') return { status: v.status, notes: v.notes };
    return null;
  }

  /**
   * Binds a host tracker that keeps its state in localStorage[storageKey]
   * as {id: {status, notes}} (or under `statePath`, or `results`).
   */
  function Binding(client, config) {
    this.client = client;
    this.config = config;
    this.storageKey = config.storageKey;
    this.statePath = config.statePath || null;
    var map = config.statusMap || {};
    this.toHost = {};
    this.toBridge = {};
    var self = this;
    STATUSES.forEach(function (s) { self.toHost[s] = map[s] != null ? map[s] : s; });
    Object.keys(this.toHost).forEach(function (s) {
      var h = self.toHost[s];
      (Array.isArray(h) ? h : [h]).forEach(function (x) { self.toBridge[String(x).toLowerCase()] = s; });
    });
    this.metaKey = client.ns + ':meta';
    this._hostSnapshot = this.storageKey ? stateOf(lsGet(this.storageKey), this.statePath) : {};
    this._remoteApplied = {};
    this._recent = {};
  }

  Binding.prototype.hostStatus = function (bridgeStatus) {
    var h = this.toHost[bridgeStatus];
    if (h == null) return bridgeStatus;
    return Array.isArray(h) ? h[0] : h;
  };
  Binding.prototype.bridgeStatus = function (hostStatus) {
    var k = String(hostStatus).toLowerCase();
    return this.toBridge[k] || String(hostStatus);
  };

  /** Queues one host change, skipping the same change seen a moment ago. */
  Binding.prototype.send = function (id, hostStatus, notes) {
    if (!id || hostStatus == null || hostStatus === '') return null;
    var status = this.bridgeStatus(hostStatus);
    var r = this._recent[id];
    if (r && r.status === status && r.notes === notes && Date.now() - r.at < 2000) return null;
    this._recent[id] = { status: status, notes: notes, at: Date.now() };
    try {
      return this.client.enqueue({ wstg_id: id, status: status, notes: notes });
    } catch (e) {
      this.client.emit('error', { message: e.message });
      if (root.console) console.warn('wstg-sync: ' + e.message);
      return null;
    }
  };

  /** The host wrote its state: queue every item that changed. */
  Binding.prototype._hostWrote = function (beforeRaw, afterRaw) {
    if (this._applying) return;
    var after = stateOf(afterRaw, this.statePath);
    var before = this._hostSnapshot;
    var self = this;
    Object.keys(after).forEach(function (id) {
      if (!/^wstg-/i.test(id)) return;
      var a = entryOf(after[id]);
      if (!a || a.status == null || a.status === '') return;
      var b = entryOf(before[id]);
      var notesA = a.notes == null ? '' : String(a.notes);
      if (b && b.status === a.status && (b.notes == null ? '' : String(b.notes)) === notesA) return;
      var applied = self._remoteApplied[id];
      if (applied && applied.status === a.status && applied.notes === notesA) return; // our own write, re-saved
      self.send(id, a.status, notesA);
    });
    this._hostSnapshot = after;
  };

  /** The 'wstg-status-changed' event of trackers that announce changes. */
  Binding.prototype._onEvent = function (e) {
    var d = (e && e.detail) || {};
    var id = d.wstgId || d.wstg_id || d.id;
    var status = d.newStatus != null ? d.newStatus : d.status;
    if (!id || status == null) return;
    if (d.oldStatus != null && d.oldStatus === status && d.notes === undefined) return;
    this.send(String(id), status, d.notes == null ? undefined : String(d.notes));
  };

  /** Writes a bridge-side change into the host's storage. */
  Binding.prototype.applyRemote = function (item) {
    if (!item || item.status == null) return false;
    if (this.client.project && item.project && item.project !== this.client.project) return false;
    this._noteSeen(item.updated_at);
    if (!this.client.remoteApplies(item)) return false;
    var id = item.wstg_id;
    var status = this.hostStatus(item.status);
    var notes = item.notes || '';
    if (!this.storageKey) {
      this._announce(id, status, notes, item);
      return true;
    }
    var raw = lsGet(this.storageKey);
    var parsed;
    try { parsed = raw ? JSON.parse(raw) : {}; } catch (e) { return false; }
    if (!parsed || typeof parsed !== 'object') parsed = {};
    var container = parsed;
    if (this.statePath) {
      container = parsed[this.statePath] = parsed[this.statePath] || {};
    } else if (parsed.results && typeof parsed.results === 'object' && !Array.isArray(parsed.results)) {
      container = parsed.results;
    }
    var cur = entryOf(container[id]);
    if (cur && cur.status === status && (cur.notes == null ? '' : String(cur.notes)) === notes) return false;
    var next = container[id] && typeof container[id] === 'object' ? Object.assign({}, container[id]) : {};
    next.status = status;
    next.notes = notes;
    container[id] = next;
    this._remoteApplied[id] = { status: status, notes: notes };
    this._applying = true;
    try {
      lsSet(this.storageKey, JSON.stringify(parsed));
    } finally {
      this._applying = false;
    }
    this._announce(id, status, notes, item);
    return true;
  };

  Binding.prototype._announce = function (id, status, notes, item) {
    var detail = { wstgId: id, status: status, notes: notes, item: item };
    if (typeof this.config.onRemoteChange === 'function') {
      try { this.config.onRemoteChange(id, { status: status, notes: notes }, item); } catch (e) { /* host's */ }
    }
    root.dispatchEvent(new CustomEvent('wstg-remote-change', { detail: detail }));
    if (this.config.reloadOnRemoteChange) {
      clearTimeout(this._reload);
      this._reload = setTimeout(function () { root.location.reload(); }, 300);
    }
  };

  Binding.prototype._meta = function () { return readJSON(this.metaKey, {}) || {}; };
  Binding.prototype._noteSeen = function (at) {
    if (!at) return;
    var m = this._meta();
    if (!m.lastSeenAt || Date.parse(at) > Date.parse(m.lastSeenAt)) {
      m.lastSeenAt = at;
      lsSet(this.metaKey, JSON.stringify(m));
    }
  };

  /**
   * Catches up after a gap (page closed, feed interrupted): applies the
   * bridge's items that changed since this browser last looked. The first
   * time, only DefectDojo-side states are taken (the host's own are not
   * overwritten by the bridge's older copy of them).
   */
  Binding.prototype.catchUp = async function () {
    var c = this.client;
    var res = await c.request('GET', '/api/wstg/items' + (c.project ? '?project=' + encodeURIComponent(c.project) : ''));
    if (!res.ok || !res.body || !Array.isArray(res.body.items)) return 0;
    var since = this._meta().lastSeenAt;
    var self = this;
    var applied = 0;
    res.body.items.forEach(function (item) {
      if (item.status == null || !item.updated_at) return;
      var newer = since ? Date.parse(item.updated_at) > Date.parse(since) : true;
      var fromDojo = item.last_sync_direction === 'dd->tracker' && item.sync_state === 'synced';
      if (!newer || (!since && !fromDojo)) { self._noteSeen(item.updated_at); return; }
      if (item.project == null && c.project) item.project = c.project;
      if (self.applyRemote(item)) applied += 1;
    });
    return applied;
  };

  /** A small live status badge for host pages (role=status, polite). */
  function Badge(client) {
    var el = document.createElement('div');
    el.setAttribute('role', 'status');
    el.setAttribute('aria-live', 'polite');
    el.id = 'wstg-sync-badge';
    el.style.cssText = 'position:fixed;right:12px;bottom:12px;z-index:2147483647;padding:6px 10px;' +
      'border-radius:6px;font:13px/1.3 system-ui,sans-serif;background:#1f2937;color:#fff;' +
      'box-shadow:0 1px 4px rgba(0,0,0,.3);cursor:pointer;max-width:22em';
    el.title = 'wstg-bridge sync (click to retry now)';
    el.tabIndex = 0;
    var retry = function () { client.retryNow(); };
    el.addEventListener('click', retry);
    el.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); retry(); } });
    var render = function () {
      var n = client.queue().length;
      var rej = client.rejected().length;
      var text;
      if (client.state === 'auth') text = 'DefectDojo sync: token needed';
      else if (n && client.state === 'offline') {
        var secs = client.nextRetryAt ? Math.max(0, Math.round((client.nextRetryAt - Date.now()) / 1000)) : 0;
        text = 'DefectDojo sync: ' + n + ' waiting (offline, retry in ' + secs + ' s)';
      } else if (n) text = 'DefectDojo sync: sending ' + n + '…';
      else text = 'DefectDojo sync: up to date';
      if (rej) text += ' · ' + rej + ' refused';
      if (client.streamState !== 'live' && client.streamState !== 'closed') text += ' · live feed ' + client.streamState;
      el.textContent = text;
      el.setAttribute('data-state', n ? (client.state === 'offline' ? 'offline' : 'sending') : 'idle');
    };
    client.on('queue', render).on('status', render).on('stream', render);
    setInterval(function () { if (client.state === 'offline') render(); }, 1000);
    var mount = function () { (document.body || document.documentElement).appendChild(el); render(); };
    if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
    return { el: el, render: render };
  }

  /**
   * Starts the drop-in for a static tracker. config (all optional):
   *   endpoint, token, project, user, namespace,
   *   storageKey: the host's localStorage key ({id: {status, notes}}),
   *   statePath: where the map sits inside that JSON (default: itself,
   *              or its `results`),
   *   statusMap: bridge status -> host status, e.g.
   *              {not_applicable: 'na'} (unmapped statuses pass as they are),
   *   watchStorage (true when storageKey is set): queue what the host stores,
   *   listenEvents (true): queue 'wstg-status-changed' events,
   *   applyRemote (true): write DefectDojo-side changes into the host storage,
   *   onRemoteChange(id, {status, notes}, item), reloadOnRemoteChange (false),
   *   live (true): follow the live feed, badge (true): show a status badge.
   * Returns {client, binding}.
   */
  function start(config) {
    var cfg = Object.assign({}, config || {});
    var tokenKey = (cfg.namespace || 'wstg-sync') + ':token';
    if (cfg.token == null) cfg.token = function () { return lsGet(tokenKey); };
    var client = new Client(cfg);
    var binding = new Binding(client, cfg);
    if (cfg.storageKey && cfg.watchStorage !== false) {
      wrapStorage();
      (watchers[cfg.storageKey] = watchers[cfg.storageKey] || []).push(binding);
    }
    if (cfg.listenEvents !== false) {
      root.addEventListener('wstg-status-changed', function (e) { binding._onEvent(e); });
    }
    if (cfg.applyRemote !== false) {
      client.on('item', function (item) { binding.applyRemote(item); });
      client.on('connected', function () { binding.catchUp(); });
    }
    if (cfg.badge !== false && typeof document !== 'undefined') Badge(client);
    if (cfg.live !== false) client.subscribe(client.project);
    client.flush();
    var api = {
      client: client,
      binding: binding,
      /** Sends the host's whole state (the original design's syncAll). */
      syncAll: function () {
        var st = stateOf(lsGet(cfg.storageKey), cfg.statePath);
        var n = 0;
        Object.keys(st).forEach(function (id) {
          var e = entryOf(st[id]);
          if (/^wstg-/i.test(id) && e && e.status) { if (binding.send(id, e.status, e.notes == null ? '' : String(e.notes))) n += 1; }
        });
        return n;
      },
      /** Queues one change by hand (for trackers that call the sync). */
      sync: function (id, status, notes) { return binding.send(id, status, notes); },
      /** Stores the token (kept in localStorage, never shown). */
      setToken: function (t) {
        if (t) lsSet(tokenKey, t); else root.localStorage.removeItem(tokenKey);
        client.reconnect();
      },
      stop: function () { if (client._stream) client._stream.stop(); }
    };
    return api;
  }

  function configFromScriptTag() {
    if (!scriptEl || !scriptEl.dataset) return null;
    var d = scriptEl.dataset;
    if (d.autostart === 'false') return null;
    if (!('storageKey' in d) && !('project' in d) && !('endpoint' in d) && !('autostart' in d)) return null;
    var cfg = {};
    if (d.endpoint) cfg.endpoint = d.endpoint;
    if (d.project) cfg.project = d.project;
    if (d.user) cfg.user = d.user;
    if (d.storageKey) cfg.storageKey = d.storageKey;
    if (d.statePath) cfg.statePath = d.statePath;
    if (d.statusMap) { try { cfg.statusMap = JSON.parse(d.statusMap); } catch (e) { /* ignored */ } }
    if (d.badge === 'false') cfg.badge = false;
    if (d.live === 'false') cfg.live = false;
    return cfg;
  }

  var api = {
    version: '1',
    STATUSES: STATUSES.slice(),
    Client: Client,
    Binding: Binding,
    start: start,
    scriptOrigin: SCRIPT_ORIGIN
  };
  root.WSTGSync = api;

  // Automatic start for static trackers: window.WSTGSyncConfig set before
  // this script, or data-* attributes on its tag.
  if (typeof document !== 'undefined') {
    var auto = root.WSTGSyncConfig || configFromScriptTag();
    if (auto && auto.autostart !== false) root.wstgSync = start(auto);
  }
})(typeof window !== 'undefined' ? window : this);

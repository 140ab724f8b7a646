'use strict';
// A whole wstg-bridge for one browser test, as real processes: the DefectDojo
// emulator (dojo-sim), wstg-ingest, wstg-worker and wstg-poller, configured
// only by environment, on free ports, with a fresh Redis key prefix and a
// fresh SQLite file. Waits by polling, never by fixed sleeps.

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'target', 'debug');
const REDIS_URL = process.env.WSTG_TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const DOJO_TOKEN = 'browser-test-dojo-token';
// The bridge refuses calls without a token: every system has this one
// configured (WSTG_INGEST_TOKEN) unless a test sets its own.
const BRIDGE_TOKEN = 'browser-test-bridge-token';

/** A port nobody listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `fn` until it returns a truthy value (or resolves to one). */
async function eventually(fn, { timeout = 20000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      const why = lastErr ? `; last error: ${lastErr.message}` : `; last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** One child process whose output is kept for failure messages. */
class Proc {
  constructor(name, cmd, args, env, readyLine) {
    this.name = name;
    this.output = '';
    this.child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise((resolve, reject) => {
      const onData = (buf) => {
        this.output += buf.toString();
        if (this.output.length > 200000) this.output = this.output.slice(-100000);
        if (this.output.includes(readyLine)) resolve();
      };
      this.child.stdout.on('data', onData);
      this.child.stderr.on('data', onData);
      this.child.on('exit', (code, signal) =>
        reject(new Error(`${name} exited (${code ?? signal}) before "${readyLine}":\n${this.output.slice(-4000)}`)));
      this.child.on('error', reject);
    });
    // A rejected readiness after the process was ready is of no interest.
    this.ready.catch(() => {});
  }

  async waitReady(timeout = 20000) {
    let timer;
    const t = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} not ready after ${timeout} ms:\n${this.output.slice(-4000)}`)), timeout);
    });
    try {
      await Promise.race([this.ready, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process: SIGKILL (a crash, the network gone) or SIGTERM. */
  async stop(signal = 'SIGTERM') {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Removes this test's Redis keys (best effort: needs redis-cli). */
function deletePrefix(prefix) {
  try {
    const keys = execFileSync('redis-cli', ['-u', REDIS_URL, '--scan', '--pattern', `${prefix}:*`], { encoding: 'utf8' })
      .split('\n').filter(Boolean);
    for (let i = 0; i < keys.length; i += 500) {
      execFileSync('redis-cli', ['-u', REDIS_URL, 'UNLINK', ...keys.slice(i, i + 500)], { stdio: 'ignore' });
    }
  } catch (e) {
    // No redis-cli: the keys stay under their unique prefix.
  }
}

/**
 * Starts dojo-sim, wstg-ingest, wstg-worker and wstg-poller.
 * options: corsOrigins (extra allowed origins), env (extra variables).
 */
async function startSystem(options = {}) {
  for (const b of ['dojo-sim', 'wstg-ingest', 'wstg-worker', 'wstg-poller', 'wstgctl']) {
    if (!fs.existsSync(path.join(BIN, b))) {
      throw new Error(`${path.join(BIN, b)} is missing: run \`cargo build --workspace --bins\` first`);
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wstg-browser-'));
  const prefix = `wstgbrowser:${crypto.randomBytes(6).toString('hex')}`;
  const dojoPort = await freePort();
  const ingestPort = await freePort();
  const dojoUrl = `http://127.0.0.1:${dojoPort}`;
  const ingestUrl = `http://127.0.0.1:${ingestPort}`;
  const origins = [ingestUrl, ...(options.corsOrigins || [])];
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME || tmp,
    WSTG_REDIS_URL: REDIS_URL,
    WSTG_REDIS_KEY_PREFIX: prefix,
    WSTG_DATABASE_URL: `sqlite://${tmp}/wstg.db?mode=rwc`,
    WSTG_DOJO_URL: dojoUrl,
    WSTG_DOJO_TOKEN: DOJO_TOKEN,
    WSTG_INGEST_ADDR: `127.0.0.1:${ingestPort}`,
    WSTG_POLLER_INTERVAL_SECS: '1',
    WSTG_WORKER_BLOCK_MS: '500',
    WSTG_INGEST_CORS_ORIGINS: origins.join(','),
    WSTG_LOG_LEVEL: 'warn',
    WSTG_INGEST_TOKEN: BRIDGE_TOKEN,
    ...(options.env || {}),
  };

  const sys = {
    tmp, prefix, env, dojoUrl, ingestUrl, ingestPort, dojoToken: DOJO_TOKEN, procs: {},
    token: env.WSTG_INGEST_TOKEN,

    /** Runs wstgctl with the services' environment; its standard output. */
    wstgctl(args) {
      return execFileSync(path.join(BIN, 'wstgctl'), args, { env, encoding: 'utf8' });
    },

    async startIngest() {
      const p = new Proc('wstg-ingest', path.join(BIN, 'wstg-ingest'), [], env, 'wstg-ingest listening on');
      this.procs.ingest = p;
      await p.waitReady();
      return p;
    },

    async stopIngest() {
      // SIGKILL: the bridge vanishes at once, as on a crash or a lost network.
      await this.procs.ingest.stop('SIGKILL');
    },

    /** A call to the emulator's DefectDojo API. */
    async dojo(method, pathname, body) {
      const resp = await fetch(dojoUrl + pathname, {
        method,
        headers: { Authorization: `Token ${DOJO_TOKEN}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await resp.text();
      if (!resp.ok) throw new Error(`${method} ${pathname}: ${resp.status} ${text.slice(0, 500)}`);
      return text ? JSON.parse(text) : null;
    },

    async findings() {
      const body = await this.dojo('GET', '/api/v2/findings/?limit=1000');
      return body.results || [];
    },

    async finding(wstgId) {
      return (await this.findings()).find((f) => f.unique_id_from_tool === wstgId) || null;
    },

    /** A call to the bridge's API, with the configured token. */
    async bridge(method, pathname, body, headers = {}) {
      const resp = await fetch(ingestUrl + pathname, {
        method,
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}`, ...headers },
        body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      });
      const text = await resp.text();
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
      return { status: resp.status, body: json, text };
    },

    /** Every process's recent output, for assertion messages. */
    logs() {
      return Object.values(this.procs)
        .map((p) => `--- ${p.name} ---\n${p.output.slice(-3000)}`)
        .join('\n');
    },

    async stop() {
      await Promise.all(Object.values(this.procs).map((p) => p.stop('SIGTERM').catch(() => {})));
      fs.rmSync(tmp, { recursive: true, force: true });
      deletePrefix(prefix);
    },
  };

  try {
    // The store is created by its own step, as in a deployment: the
    // services only open a database whose schema is current.
    sys.wstgctl(['migrate']);
    const sim = new Proc('dojo-sim', path.join(BIN, 'dojo-sim'),
      ['--addr', `127.0.0.1:${dojoPort}`, '--token', DOJO_TOKEN], env, 'dojo-sim listening on');
    sys.procs.sim = sim;
    await sim.waitReady();
    await sys.startIngest();
    sys.procs.worker = new Proc('wstg-worker', path.join(BIN, 'wstg-worker'), [], env, 'wstg-worker started');
    sys.procs.poller = new Proc('wstg-poller', path.join(BIN, 'wstg-poller'), [], env, 'wstg-poller started');
    await Promise.all([sys.procs.worker.waitReady(), sys.procs.poller.waitReady()]);
  } catch (e) {
    await sys.stop();
    throw e;
  }
  return sys;
}

/**
 * What the mapping (docs/sync-rules.md) makes of each status in DefectDojo:
 * the flags that tell open from closed from not applicable. The exact
 * status is carried by the `wstg-status:<status>` tag, checked too.
 */
const EXPECTED_FLAGS = {
  not_started: { active: true, is_mitigated: false, out_of_scope: false },
  in_progress: { active: true, is_mitigated: false, out_of_scope: false },
  blocked: { active: true, is_mitigated: false, out_of_scope: false },
  done: { active: false, is_mitigated: true, out_of_scope: false },
  not_applicable: { active: false, is_mitigated: true, out_of_scope: true },
};

/** Whether a finding holds `status` (its flags and its status tag). */
function findingIs(finding, status, notes) {
  if (!finding) return false;
  const want = EXPECTED_FLAGS[status];
  const flagsOk = Object.keys(want).every((k) => Boolean(finding[k]) === want[k]);
  const tags = (finding.tags || []).map((t) => String(t).toLowerCase());
  const tagOk = tags.includes(`wstg-status:${status}`);
  const notesOk = notes === undefined || String(finding.mitigation || '').includes(notes);
  return flagsOk && tagOk && notesOk;
}

module.exports = { startSystem, eventually, freePort, findingIs, EXPECTED_FLAGS, ROOT };

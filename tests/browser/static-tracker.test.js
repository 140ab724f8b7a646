'use strict';
// The drop-in script (/static/wstg-sync.js) on a minimal static tracker
// served from another origin: a change stored by the tracker reaches
// DefectDojo, and a change made in DefectDojo comes back into the tracker's
// localStorage (and its page re-renders), through the status vocabulary map.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { eventually, findingIs, freePort } = require('./lib/system');
const { withSystem } = require('./lib/harness');

const FIXTURE = path.join(__dirname, 'fixtures', 'static-tracker.html');

/** A tiny static server for the tracker page; `ingest` is filled in later. */
async function staticServer() {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    if (req.url === '/' || req.url.startsWith('/index.html')) {
      const html = fs.readFileSync(FIXTURE, 'utf8').replaceAll('{{INGEST}}', server.ingest);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  server.origin = `http://127.0.0.1:${port}`;
  return server;
}

const hostState = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('wstg-tracker-state') || '{}'));

test('the drop-in script syncs a static tracker both ways', async () => {
  const site = await staticServer();
  try {
    await withSystem({ corsOrigins: [site.origin] }, async ({ sys, browser }) => {
      site.ingest = sys.ingestUrl;
      const page = await browser.newPage();
      await page.goto(`${site.origin}/`);
      await page.waitForFunction(() => window.wstgSync && window.wstgSync.client.streamState === 'live');
      await page.waitForSelector('#wstg-sync-badge');

      // The tracker only stores; the script sees the write and sends it.
      await page.selectOption('#status-WSTG-INFO-02', 'in_progress');
      await page.selectOption('#status-WSTG-CONF-01', 'na'); // mapped: not_applicable
      assert.equal((await hostState(page))['WSTG-INFO-02'].status, 'in_progress');

      const finding = await eventually(async () => {
        const f = await sys.finding('WSTG-INFO-02');
        return findingIs(f, 'in_progress') && f;
      }, { what: 'the finding of WSTG-INFO-02 in progress' });
      await eventually(async () => findingIs(await sys.finding('WSTG-CONF-01'), 'not_applicable'),
        { what: 'WSTG-CONF-01 not applicable in DefectDojo' });
      await eventually(() => page.evaluate(() => window.wstgSync.client.queue().length === 0), { what: 'an empty queue' });
      assert.match(await page.textContent('#wstg-sync-badge'), /up to date/);

      // Counts what the script queues from here on.
      await page.evaluate(() => {
        const c = window.wstgSync.client;
        const enqueue = c.enqueue.bind(c);
        window.__enqueued = 0;
        c.enqueue = (change) => { window.__enqueued += 1; return enqueue(change); };
      });

      // A lead closes the finding in DefectDojo: it comes back into the
      // tracker's own storage, and the tracker re-renders.
      await sys.dojo('PATCH', `/api/v2/findings/${finding.id}/`, { active: false, is_mitigated: true });
      await eventually(async () => ((await hostState(page))['WSTG-INFO-02'] || {}).status === 'done',
        { timeout: 20000, what: "the tracker's localStorage to say done" });
      await eventually(async () => (await page.inputValue('#status-WSTG-INFO-02')) === 'done', { what: 'the tracker to re-render' });

      // Writing it back did not send it again as a tracker change.
      assert.equal(await page.evaluate(() => window.__enqueued), 0);
      assert.equal((await hostState(page))['WSTG-CONF-01'].status, 'na');
    });
  } finally {
    await new Promise((r) => site.close(r));
  }
});

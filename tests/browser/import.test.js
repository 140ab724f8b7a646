'use strict';
// Import and export: a tracker export file (20 items, the wrapped
// {"version", "exportDate", "results"} variant, statuses in tracker
// spellings) imported through the page's Import button syncs every item to
// DefectDojo; the export gives them back in snake_case. Also writes the
// screenshots of the checklist and the dashboard linked from the README.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { eventually, findingIs } = require('./lib/system');
const { withSystem, screenshot } = require('./lib/harness');

const EXPORT_FILE = path.join(__dirname, 'fixtures', 'tracker-export.json');
const SPELLING = {
  done: 'done', Done: 'done', in_progress: 'in_progress', 'In Progress': 'in_progress',
  blocked: 'blocked', not_started: 'not_started', 'N/A': 'not_applicable', not_applicable: 'not_applicable',
};

test('importing an export file syncs every item, and the export gives it back', async () => {
  const file = JSON.parse(fs.readFileSync(EXPORT_FILE, 'utf8'));
  const expected = Object.entries(file.results).map(([id, v]) => [id, SPELLING[v.status], v.notes]);
  assert.equal(expected.length, 20);

  await withSystem({}, async ({ sys, browser }) => {
    const page = await browser.newPage();
    await page.goto(`${sys.ingestUrl}/`);
    await page.waitForSelector('#status-WSTG-INFO-01');

    await page.setInputFiles('#import-file', EXPORT_FILE);
    await eventually(async () => /Imported “tracker-export.json” into project “default”: 20 change\(s\) queued/
      .test(await page.textContent('#messages')), { what: 'the import message' });

    // Every item reaches DefectDojo in its state, with its notes.
    await eventually(async () => {
      const findings = await sys.findings();
      return expected.every(([id, status, notes]) =>
        findingIs(findings.find((f) => f.unique_id_from_tool === id), status, notes));
    }, { timeout: 45000, interval: 250, what: 'all 20 imported items in DefectDojo' });

    // ... and the open page shows them, synced.
    await eventually(async () => {
      const states = await page.$$eval('article.item', (els) =>
        Object.fromEntries(els.map((e) => [e.dataset.id, [e.dataset.status, e.dataset.sync]])));
      return expected.every(([id, status]) => states[id][0] === status && states[id][1] === 'synced');
    }, { timeout: 20000, what: 'the page to show the imported items synced' });

    // The export has the same statuses, in snake_case, in the same shape.
    const exp = await sys.bridge('GET', '/api/wstg/export');
    assert.equal(exp.status, 200);
    assert.equal(exp.body.version, 'wstg-bridge/1');
    assert.equal(exp.body.project, 'default');
    assert.ok(!Number.isNaN(Date.parse(exp.body.exportDate)));
    assert.deepEqual(
      Object.entries(exp.body.results).map(([id, v]) => [id, v.status, v.notes]).sort(),
      expected.slice().sort());

    // Bad entries are reported by id and reason; the good ones still go in.
    const mixed = await sys.bridge('POST', '/api/wstg/import', {
      'WSTG-INFO-02': { status: 'In Progress', notes: 'ok' },
      'WSTG-ZZZZ-99': { status: 'done' },
      'WSTG-INFO-03': { status: 'finished-ish' },
    });
    assert.equal(mixed.status, 202, mixed.text);
    assert.equal(mixed.body.accepted, 1);
    assert.deepEqual(mixed.body.rejected.map((r) => r.wstg_id).sort(), ['WSTG-INFO-03', 'WSTG-ZZZZ-99']);
    assert.ok(mixed.body.rejected.every((r) => r.reason.length > 0));
    const none = await sys.bridge('POST', '/api/wstg/import', { results: { 'WSTG-ZZZZ-99': { status: 'done' } } });
    assert.equal(none.status, 400, none.text);
    assert.equal(none.body.success, false);
    const junk = await sys.bridge('POST', '/api/wstg/import', 'not json');
    assert.equal(junk.status, 400);
    assert.equal(junk.body.field, 'body');

    // The page says why a bad file is refused.
    const badFile = path.join(sys.tmp, 'broken.json');
    fs.writeFileSync(badFile, '{"results": ');
    await page.setInputFiles('#import-file', badFile);
    await eventually(async () => /Import failed: “broken.json” is not JSON/.test(await page.textContent('#messages')),
      { what: 'the bad-file message' });
    await page.click('#messages .message.error .dismiss');

    // A lead closes one finding in DefectDojo (so the pictures show both
    // directions): the open page follows.
    const info06 = await sys.finding('WSTG-INFO-06');
    await sys.dojo('PATCH', `/api/v2/findings/${info06.id}/`, { active: false, is_mitigated: true });
    await eventually(async () => (await page.inputValue('#status-WSTG-INFO-06')) === 'done',
      { what: 'WSTG-INFO-06 done in the page' });

    // Screenshots for the README: the checklist and the dashboard.
    await eventually(async () => (await page.getAttribute('#item-WSTG-INFO-02', 'data-sync')) === 'synced',
      { what: 'WSTG-INFO-02 synced' });
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'checklist');

    const dash = await browser.newPage();
    await dash.goto(`${sys.ingestUrl}/dashboard`);
    await dash.waitForSelector('body[data-loaded="true"]');
    assert.match(await dash.textContent('#cards'), /reachable/);
    const api = await sys.bridge('GET', '/api/wstg/dashboard');
    assert.equal(api.status, 200);
    for (const k of ['status', 'statistics', 'dlq_size', 'dojo', 'timestamp']) assert.ok(k in api.body, k);
    for (const k of ['by_status', 'by_direction', 'by_category', 'recent_syncs', 'activity']) assert.ok(k in api.body.statistics, k);
    assert.equal(api.body.statistics.activity.length, 60);
    assert.equal(api.body.statistics.by_category.INFO.total, 10);
    assert.ok(api.body.statistics.recent_syncs.length >= 20);
    assert.ok(api.body.statistics.by_direction['dd->tracker'] >= 1);
    await screenshot(dash, 'dashboard', { fullPage: true });
  });
});

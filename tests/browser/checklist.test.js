'use strict';
// The tracker page served by wstg-ingest at "/", in Chromium, against a real
// system: a change in the page lands in DefectDojo (the emulator), a change
// in DefectDojo appears in the open page without a reload, and changes made
// while the bridge is down wait in the browser and go out, in order, when it
// is back.

const test = require('node:test');
const assert = require('node:assert/strict');
const { eventually, findingIs } = require('./lib/system');
const { withSystem, pageQueue } = require('./lib/harness');

async function openChecklist(sys, browser) {
  const page = await browser.newPage();
  await page.goto(`${sys.ingestUrl}/`);
  await page.waitForSelector('#status-WSTG-INFO-01');
  await eventually(async () => (await page.getAttribute('#live-status', 'data-state')) === 'live',
    { what: 'the live feed to open' });
  return page;
}

const syncOf = (page, id) => page.getAttribute(`#item-${id}`, 'data-sync');

test('a status and notes set in the page land in DefectDojo', async () => {
  await withSystem({}, async ({ sys, browser }) => {
    const page = await openChecklist(sys, browser);

    // Every control has a label (keyboard and screen-reader use).
    const unlabelled = await page.$$eval('select, textarea, input:not([type=hidden])', (els) =>
      els.filter((e) => !e.labels || !e.labels.length).map((e) => e.id || e.outerHTML.slice(0, 60)));
    assert.deepEqual(unlabelled, [], 'controls without a label');

    // Pick "Done", then type notes and save them with Ctrl+Enter.
    await page.selectOption('#status-WSTG-INFO-01', 'done');
    await page.focus('#notes-WSTG-INFO-01');
    await page.keyboard.type('robots.txt and sitemap reviewed');
    await page.keyboard.press('Control+Enter');

    const finding = await eventually(async () => {
      const f = await sys.finding('WSTG-INFO-01');
      return findingIs(f, 'done', 'robots.txt and sitemap reviewed') && f;
    }, { what: 'the finding of WSTG-INFO-01 to be done with the notes' });
    assert.equal(finding.active, false);
    assert.equal(finding.is_mitigated, true);

    // The page shows the item synced, with a link to its finding.
    await eventually(async () => (await syncOf(page, 'WSTG-INFO-01')) === 'synced', { what: 'the synced badge' });
    const link = await page.getAttribute('#item-WSTG-INFO-01 .finding a', 'href');
    assert.ok(link.endsWith(`/finding/${finding.id}`), link);
    assert.deepEqual(await pageQueue(page), []);
    assert.match(await page.textContent('#overall-text'), /^1 of \d+ complete/);

    // A bad change is refused with a reason the user can read.
    await page.fill('#notes-WSTG-INFO-02', 'x'.repeat(70000));
    await page.locator('#notes-WSTG-INFO-02').blur();
    assert.match(await page.textContent('#item-WSTG-INFO-02 .item-error'), /notes are 70000 bytes long; the limit is 65536 bytes/);

    // Filters: by status and by text.
    await page.selectOption('#filter-status', 'done');
    assert.equal(await page.locator('article.item:visible').count(), 1);
    await page.selectOption('#filter-status', '');
    await page.fill('#filter-text', 'sitemap reviewed');
    await eventually(async () => (await page.locator('article.item:visible').count()) === 1, { what: 'the text filter' });
  });
});

test('a finding changed in DefectDojo updates the open page without a reload', async () => {
  await withSystem({}, async ({ sys, browser }) => {
    const page = await openChecklist(sys, browser);
    await page.selectOption('#status-WSTG-CONF-02', 'in_progress');
    const finding = await eventually(async () => {
      const f = await sys.finding('WSTG-CONF-02');
      return findingIs(f, 'in_progress') && f;
    }, { what: 'the finding of WSTG-CONF-02' });
    await eventually(async () => (await syncOf(page, 'WSTG-CONF-02')) === 'synced', { what: 'the synced badge' });

    // Marks this page load: a reload would lose it.
    await page.evaluate(() => { window.__sameLoad = 'yes'; });

    // A lead closes the finding in DefectDojo.
    await sys.dojo('PATCH', `/api/v2/findings/${finding.id}/`, { active: false, is_mitigated: true });

    await eventually(async () => (await page.inputValue('#status-WSTG-CONF-02')) === 'done',
      { timeout: 20000, what: 'the page to show WSTG-CONF-02 as done' });
    assert.equal(await page.evaluate(() => window.__sameLoad), 'yes', 'the page was reloaded');
    await eventually(async () => (await page.getAttribute('#item-WSTG-CONF-02', 'data-status')) === 'done', { what: 'the item to be done' });
    assert.equal(await page.inputValue('#status-WSTG-CONF-02'), 'done');
  });
});

test('changes made while the bridge is down wait in the browser and are delivered in order', async () => {
  await withSystem({}, async ({ sys, browser }) => {
    const page = await openChecklist(sys, browser);

    await sys.stopIngest();
    await eventually(async () => (await page.getAttribute('#live-status', 'data-state')) !== 'live',
      { what: 'the page to notice the bridge is gone' });

    await page.selectOption('#status-WSTG-INFO-02', 'blocked');
    await page.selectOption('#status-WSTG-INFO-03', 'done');

    // Both wait in the browser (localStorage), shown as waiting.
    await eventually(async () => (await page.getAttribute('#sync-status', 'data-state')) === 'offline',
      { what: 'the page to say it is offline' });
    const queued = await pageQueue(page);
    assert.deepEqual(queued.map((e) => [e.body.wstg_id, e.body.status]),
      [['WSTG-INFO-02', 'blocked'], ['WSTG-INFO-03', 'done']]);
    assert.equal(await syncOf(page, 'WSTG-INFO-02'), 'queued');
    assert.equal(await syncOf(page, 'WSTG-INFO-03'), 'queued');
    assert.match(await page.textContent('#sync-status'), /2 change\(s\) wait in this browser/);

    // The original design gave up after three tries; these are kept.
    await eventually(async () => ((await pageQueue(page))[0] || {}).attempts >= 3,
      { timeout: 20000, what: 'three failed attempts' });
    assert.equal((await pageQueue(page)).length, 2);

    await sys.startIngest();

    await eventually(async () => findingIs(await sys.finding('WSTG-INFO-02'), 'blocked'),
      { timeout: 30000, what: 'WSTG-INFO-02 blocked in DefectDojo' });
    await eventually(async () => findingIs(await sys.finding('WSTG-INFO-03'), 'done'),
      { timeout: 30000, what: 'WSTG-INFO-03 done in DefectDojo' });
    // The page drops an entry when its 202 is handled, which on a loaded
    // machine can come after the worker has already written DefectDojo
    // (CI once saw INFO-03 still queued at this point).
    await eventually(async () => (await pageQueue(page)).length === 0,
      { what: 'the browser queue emptied' });

    // In order: the bridge accepted INFO-02's change before INFO-03's
    // (event ids are UUID v7, ordered by acceptance).
    const dash = await sys.bridge('GET', '/api/wstg/dashboard');
    const eventOf = (id) => dash.body.statistics.recent_syncs
      .filter((r) => r.wstg_id === id && r.direction === 'tracker->dd' && r.success)
      .map((r) => r.event_id)
      .sort()[0];
    assert.ok(eventOf('WSTG-INFO-02') < eventOf('WSTG-INFO-03'),
      `INFO-02's event ${eventOf('WSTG-INFO-02')} should precede INFO-03's ${eventOf('WSTG-INFO-03')}`);

    await eventually(async () => (await syncOf(page, 'WSTG-INFO-03')) === 'synced', { timeout: 20000, what: 'the synced badge' });
    await eventually(async () => (await page.getAttribute('#live-status', 'data-state')) === 'live', { what: 'the live feed back' });
  });
});

test('without a saved token the page asks for one, keeps it hidden and then syncs', async () => {
  await withSystem({ pageToken: null }, async ({ sys, browser }) => {
    // A token for the default project, made as `make demo` makes its own.
    const token = sys.wstgctl(['token', 'create', '--label', 'browser test', '--write', 'default']).trim();
    assert.match(token, /^wstg_[0-9a-f]{64}$/);
    const page = await browser.newPage();
    await page.goto(`${sys.ingestUrl}/`);
    // Nothing loads without it: the settings dialog asks.
    await page.waitForSelector('#settings-dialog[open]');
    assert.match(await page.textContent('#token-state'), /needs a token/);
    assert.equal(await page.getAttribute('#token', 'type'), 'password');
    await page.fill('#token', token);
    await Promise.all([page.waitForNavigation(), page.click('#settings-dialog button[value="save"]')]);

    await page.waitForSelector('#status-WSTG-INFO-04');
    await eventually(async () => (await page.getAttribute('#live-status', 'data-state')) === 'live',
      { what: 'the live feed with the token' });
    await page.selectOption('#status-WSTG-INFO-04', 'blocked');
    await eventually(async () => findingIs(await sys.finding('WSTG-INFO-04'), 'blocked'),
      { what: 'WSTG-INFO-04 blocked in DefectDojo' });

    // The token is in localStorage only: not in the page, not in the URL.
    assert.ok(!(await page.content()).includes(token));
    assert.ok(!page.url().includes(token));
    const unauth = await fetch(`${sys.ingestUrl}/api/wstg/items`);
    assert.equal(unauth.status, 401);
  });
});

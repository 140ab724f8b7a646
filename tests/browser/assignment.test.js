'use strict';
// Assignment and the discussion in the tracker page (issue 12 items 3, 4),
// in Chromium against a real system: an assignee set in the page reaches
// DefectDojo as the finding's tag, the checklist filters by assignee, the
// dashboard counts by assignee, and a comment added under an item becomes a
// note on its finding.

const test = require('node:test');
const assert = require('node:assert/strict');
const { eventually } = require('./lib/system');
const { withSystem } = require('./lib/harness');

async function openChecklist(sys, browser) {
  const page = await browser.newPage();
  await page.goto(`${sys.ingestUrl}/`);
  await page.waitForSelector('#assignee-WSTG-INFO-01');
  await eventually(async () => (await page.getAttribute('#live-status', 'data-state')) === 'live',
    { what: 'the live feed to open' });
  return page;
}

const visibleIds = (page) => page.$$eval('article.item:not([hidden])', (els) => els.map((e) => e.dataset.id));

test('items are assigned in the page, filtered by assignee and counted on the dashboard', async () => {
  await withSystem({}, async ({ sys, browser }) => {
    // One assignment arrives through the API, two are made in the page.
    const r = await sys.bridge('POST', '/api/wstg/sync', { wstg_id: 'WSTG-INFO-03', status: 'blocked', assignee: 'bob' });
    assert.equal(r.status, 202);
    const page = await openChecklist(sys, browser);
    await eventually(async () => (await page.inputValue('#assignee-WSTG-INFO-03')) === 'bob', { what: 'bob shown on WSTG-INFO-03' });

    await page.fill('#assignee-WSTG-INFO-01', 'Alice');
    await page.press('#assignee-WSTG-INFO-01', 'Enter');
    await page.fill('#assignee-WSTG-CONF-01', 'alice');
    await page.locator('#assignee-WSTG-CONF-01').blur();

    const finding = await eventually(async () => {
      const f = await sys.finding('WSTG-INFO-01');
      return f && (f.tags || []).includes('wstg-assignee:alice') && f;
    }, { what: 'the finding of WSTG-INFO-01 tagged wstg-assignee:alice' });
    assert.equal(finding.active, true, 'assigning an unset item makes it Not Started');

    // The filter: alice's items, bob's, the unassigned ones, everyone's.
    await eventually(async () => (await page.$$eval('#filter-assignee option', (o) => o.map((x) => x.value))).includes('alice'),
      { what: 'alice in the assignee filter' });
    await page.selectOption('#filter-assignee', 'alice');
    assert.deepEqual((await visibleIds(page)).sort(), ['WSTG-CONF-01', 'WSTG-INFO-01']);
    assert.match(await page.textContent('#filter-result'), /^Showing 2 of \d+ tests\.$/);
    await page.selectOption('#filter-assignee', 'bob');
    assert.deepEqual(await visibleIds(page), ['WSTG-INFO-03']);
    await page.selectOption('#filter-assignee', '-');
    const unassigned = await visibleIds(page);
    assert.ok(!unassigned.includes('WSTG-INFO-01') && unassigned.includes('WSTG-INFO-02'), unassigned.join(','));
    await page.selectOption('#filter-assignee', '');
    assert.match(await page.textContent('#filter-result'), /^Showing all \d+ tests\.$/);

    // A lead reassigns in DefectDojo: the open page follows.
    const tags = finding.tags.filter((t) => !t.startsWith('wstg-assignee:')).concat(['wstg-assignee:carol']);
    await sys.dojo('PATCH', `/api/v2/findings/${finding.id}/`, { tags });
    await eventually(async () => (await page.inputValue('#assignee-WSTG-INFO-01')) === 'carol', { what: 'carol shown' });

    // The dashboard counts by assignee.
    const dash = await browser.newPage();
    await dash.goto(`${sys.ingestUrl}/dashboard`);
    await eventually(async () => {
      const rows = await dash.$$eval('#by-assignee tr', (trs) => trs.map((tr) => tr.textContent.trim()));
      return rows.includes('alice1') && rows.includes('bob1') && rows.includes('carol1');
    }, { what: 'the dashboard counts by assignee' });
  });
});

test('a comment added under an item becomes a note on its finding', async () => {
  await withSystem({}, async ({ sys, browser }) => {
    const page = await openChecklist(sys, browser);
    await page.evaluate(() => localStorage.setItem('wstg-bridge:user', 'alice'));
    await page.selectOption('#status-WSTG-INFO-02', 'in_progress');
    const finding = await eventually(async () => {
      const f = await sys.finding('WSTG-INFO-02');
      return f && f.id;
    }, { what: 'the finding of WSTG-INFO-02' });
    await page.click('#discussion-WSTG-INFO-02 summary');
    await page.fill('#comment-WSTG-INFO-02', 'Server banner: nginx');
    await page.click('#discussion-WSTG-INFO-02 .comment-add');
    await eventually(async () => {
      const res = await sys.dojo('GET', `/api/v2/findings/${finding}/notes/`);
      return res && res.notes && res.notes.length === 1 &&
        res.notes[0].entry === 'Server banner: nginx\n\n— alice (WSTG tracker)';
    }, { what: 'one note on the finding' });
    await eventually(async () => /alice.*Server banner: nginx/s.test(await page.textContent('#discussion-WSTG-INFO-02 .comments')),
      { what: 'the comment listed under the item' });

    // A note made in DefectDojo shows in the open discussion, from DefectDojo.
    await sys.dojo('POST', `/api/v2/findings/${finding}/notes/`, { entry: 'Lead: confirmed', private: false });
    await eventually(async () => /admin.*from DefectDojo.*Lead: confirmed/s.test(await page.textContent('#discussion-WSTG-INFO-02 .comments')),
      { what: 'the note shown under the item' });
  });
});

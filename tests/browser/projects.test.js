'use strict';
// Many engagements (issue 11 item 5): a project whose name holds
// `/ ( & : { } ' "` is opened in the page by its URL, a change made there
// lands in DefectDojo in a product named after it, and the bridge's API
// answers for it: every URL the page builds percent-encodes the name.

const test = require('node:test');
const assert = require('node:assert/strict');
const { eventually, findingIs } = require('./lib/system');
const { withSystem } = require('./lib/harness');

test('a project with awkward characters in its name works in the page end to end', async () => {
  await withSystem({}, async ({ sys, browser }) => {
    const name = `R&D / (web) : {x} 'y' "z" 100%`;
    sys.wstgctl(['project', 'add', name]);
    const page = await browser.newPage();
    await page.goto(`${sys.ingestUrl}/?project=${encodeURIComponent(name)}`);
    await page.waitForSelector('#status-WSTG-INFO-01');
    await eventually(async () => (await page.getAttribute('#live-status', 'data-state')) === 'live',
      { what: 'the live feed to open' });

    await page.selectOption('#status-WSTG-INFO-01', 'done');
    const finding = await eventually(async () => {
      const f = await sys.finding('WSTG-INFO-01');
      return findingIs(f, 'done') && f;
    }, { what: 'the finding of WSTG-INFO-01 to be done' });
    const t = await sys.dojo('GET', `/api/v2/tests/${finding.test}/`);
    const e = await sys.dojo('GET', `/api/v2/engagements/${t.engagement}/`);
    const p = await sys.dojo('GET', `/api/v2/products/${e.product}/`);
    assert.equal(p.name, name, 'the product is named after the project');

    // The page shows it synced, and the API has it under that project only.
    await eventually(async () => (await page.getAttribute('#item-WSTG-INFO-01', 'data-sync')) === 'synced',
      { what: 'the synced badge' });
    const mine = await sys.bridge('GET', `/api/wstg/items/WSTG-INFO-01?project=${encodeURIComponent(name)}`);
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.body.status, 'done', mine.text);
    const other = await sys.bridge('GET', '/api/wstg/items/WSTG-INFO-01');
    assert.notEqual(other.body.status, 'done', other.text);

    // The dashboard link carries the name, encoded, and opens its counts.
    const href = await page.getAttribute('#dashboard-link', 'href');
    assert.equal(href, `/dashboard?project=${encodeURIComponent(name)}`);
  });
});

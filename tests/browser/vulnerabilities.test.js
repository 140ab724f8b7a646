'use strict';
// Vulnerabilities under an item (issue 12), in the tracker page: record one
// under WSTG-INPV-05 with the form, see it become a DefectDojo finding (its
// link in the list), and see its closing in DefectDojo come back, with the
// item's count and worst severity.

const test = require('node:test');
const assert = require('node:assert/strict');
const { eventually } = require('./lib/system');
const { withSystem, screenshot } = require('./lib/harness');

const ITEM = 'WSTG-INPV-05';

test('a vulnerability recorded under an item becomes a finding and its closing shows', async () => {
  await withSystem({}, async ({ sys, browser }) => {
    const page = await browser.newPage();
    await page.goto(`${sys.ingestUrl}/`);
    await page.waitForSelector(`#item-${ITEM} details.vulns`);
    const box = `#item-${ITEM} details.vulns`;
    assert.equal((await page.textContent(`${box} > summary`)).trim(), 'Vulnerabilities: none');

    await page.click(`${box} > summary`);
    await page.fill(`#vuln-${ITEM}-title`, 'SQL injection in the login form');
    await page.selectOption(`#vuln-${ITEM}-severity`, 'Critical');
    await page.fill(`#vuln-${ITEM}-cwe`, 'CWE-89');
    await page.fill(`#vuln-${ITEM}-description`, "username=' OR 1=1 -- logs in as the first user");
    await page.fill(`#vuln-${ITEM}-steps`, '1. open /login\n2. send the payload');
    await page.fill(`#vuln-${ITEM}-endpoints`, 'https://app.example/login');
    await page.click(`${box} button[type=submit]`);

    // It becomes exactly one DefectDojo finding, linked from the list.
    const link = await eventually(async () => {
      const a = await page.$(`${box} .vuln a`);
      return a && (await a.getAttribute('href'));
    }, { what: 'the finding link in the list' });
    const findings = (await sys.findings()).filter((f) => (f.tags || []).includes('wstg-vuln'));
    assert.equal(findings.length, 1);
    const f = findings[0];
    assert.ok(link.endsWith(`/finding/${f.id}`), link);
    assert.equal(f.severity, 'Critical');
    assert.equal(f.cwe, 89);
    assert.deepEqual([...f.tags].sort(), ['wstg-inpv-05', 'wstg-vuln']);
    assert.match(await page.textContent(`${box} > summary`), /Vulnerabilities: 1 \(1 open, worst Critical\)/);
    assert.equal(await page.getAttribute(`${box} .vuln`, 'data-status'), 'active');
    await screenshot(page.locator(`#item-${ITEM}`), 'vulnerabilities');

    // A bad one is refused with the reason, naming the field.
    await page.fill(`#vuln-${ITEM}-title`, 'x');
    await page.fill(`#vuln-${ITEM}-description`, 'y');
    await page.fill(`#vuln-${ITEM}-cwe`, 'eighty-nine');
    await page.click(`${box} button[type=submit]`);
    await eventually(async () => /cwe/.test(await page.textContent(`${box} .vuln-form .item-error`)),
      { what: 'the refusal naming the cwe' });

    // Closed in DefectDojo: the open page shows it mitigated.
    await sys.dojo('PATCH', `/api/v2/findings/${f.id}/`, { active: false, is_mitigated: true });
    // The open page learns it without a reload (the item's live notice).
    await eventually(async () => (await page.getAttribute(`${box} .vuln`, 'data-status')) === 'mitigated',
      { what: 'the list to show it mitigated' });
    assert.match(await page.textContent(`${box} > summary`), /1 \(0 open, worst Critical\)/);
  });
});

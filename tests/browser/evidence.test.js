'use strict';
// Evidence on the tracker page (issue 12 item 2), in Chromium against a real
// system: attach a screenshot (PNG) to an item, see its thumbnail, find it
// byte for byte on the item's finding in DefectDojo (the emulator), and
// download it from the page byte for byte.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { eventually } = require('./lib/system');
const { withSystem } = require('./lib/harness');

// A real 2x2 PNG: what a screenshot is, in small.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4zwAE/xkgFAAb8gP91pbyKwAAAABJRU5ErkJggg==',
  'base64');

test('a screenshot attached in the page shows as a thumbnail and round-trips byte for byte', async () => {
  await withSystem({}, async ({ sys, browser }) => {
    const page = await browser.newPage();
    await page.goto(`${sys.ingestUrl}/`);
    await page.waitForSelector('#evidence-WSTG-INFO-01');

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-'));
    const file = path.join(dir, 'login-screenshot.png');
    fs.writeFileSync(file, PNG);

    await page.click('#evidence-WSTG-INFO-01 summary');
    await page.setInputFiles('#evidence-input-WSTG-INFO-01', file);

    // The thumbnail: an <img> whose blob: source holds the PNG.
    const thumb = '#evidence-WSTG-INFO-01 img.evidence-thumb';
    await page.waitForSelector(thumb);
    await eventually(async () => page.$eval(thumb, (img) => img.complete && img.naturalWidth === 2),
      { what: 'the thumbnail to load' });
    assert.match(await page.getAttribute(thumb, 'src'), /^blob:/);

    // The item has no finding until its status is first set: the file
    // waits, then goes to the finding that change makes.
    await page.selectOption('#status-WSTG-INFO-01', 'in_progress');

    // In DefectDojo: the item's finding holds the file, byte for byte.
    const listed = await eventually(async () => {
      const body = await sys.bridge('GET', '/api/wstg/items/WSTG-INFO-01/evidence');
      const ev = (body.body.evidence || [])[0];
      return ev && ev.state === 'uploaded' && ev;
    }, { what: 'the screenshot to reach DefectDojo' });
    const finding = await sys.finding('WSTG-INFO-01');
    const dl = await fetch(`${sys.dojoUrl}/api/v2/findings/${finding.id}/files/download/${listed.dojo_file_id}/`,
      { headers: { Authorization: `Token ${sys.dojoToken}` } });
    assert.equal(dl.status, 200);
    assert.deepEqual(Buffer.from(await dl.arrayBuffer()), PNG);

    // Downloaded from the page: the same bytes.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#evidence-WSTG-INFO-01 a.evidence-link'),
    ]);
    assert.equal(download.suggestedFilename(), 'login-screenshot.png');
    const saved = path.join(dir, 'downloaded.png');
    await download.saveAs(saved);
    assert.deepEqual(fs.readFileSync(saved), PNG);

    // A file of the wrong kind is refused with the reason.
    const exe = path.join(dir, 'tool.png');
    fs.writeFileSync(exe, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(100, 0x90)]));
    await page.setInputFiles('#evidence-input-WSTG-INFO-01', exe);
    await eventually(async () => /tool\.png: the file's bytes are/.test(
      await page.textContent('#evidence-WSTG-INFO-01 .evidence-error')), { what: 'the refusal shown' });
  });
});

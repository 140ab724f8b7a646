'use strict';
// Runs one browser test against its own system and browser, and stops both
// whatever happens; a failure carries the services' recent output.

const fs = require('node:fs');
const path = require('node:path');
const { startSystem } = require('./system');
const { launch } = require('./browser');

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * options: those of startSystem, and pageToken: the token the browser has
 * saved (default: the system's configured token; null: none).
 */
async function withSystem(options, fn) {
  const sys = await startSystem(options);
  let browser;
  try {
    browser = await launch({ token: options.pageToken === undefined ? sys.token : options.pageToken });
    await fn({ sys, browser });
    if (browser.errors.length) throw new Error(`JavaScript errors in the page:\n${browser.errors.join('\n')}`);
  } catch (e) {
    e.message += `\n\n${sys.logs()}`;
    throw e;
  } finally {
    if (browser) await browser.close();
    await sys.stop();
  }
}

/**
 * Saves a screenshot for the README (docs/screenshots/NAME.png) when it is
 * missing or WSTG_UPDATE_SCREENSHOTS=1 (`make screenshots`), and always a
 * working copy in tests/browser/screenshots/NAME.tmp.png (git-ignored), so
 * a plain `make test` leaves the committed pictures alone.
 */
async function screenshot(page, name, options = {}) {
  const tmpDir = path.join(ROOT, 'tests', 'browser', 'screenshots');
  fs.mkdirSync(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `${name}.tmp.png`);
  await page.screenshot({ path: tmp, animations: 'disabled', ...options });
  const docs = path.join(ROOT, 'docs', 'screenshots', `${name}.png`);
  if (process.env.WSTG_UPDATE_SCREENSHOTS === '1' || !fs.existsSync(docs)) {
    fs.mkdirSync(path.dirname(docs), { recursive: true });
    fs.copyFileSync(tmp, docs);
  }
  return tmp;
}

/** The page's outbound queue (localStorage, namespace of the bridge's page). */
function pageQueue(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('wstg-bridge:queue') || '[]'));
}

module.exports = { withSystem, screenshot, pageQueue, ROOT };

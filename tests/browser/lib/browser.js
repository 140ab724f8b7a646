'use strict';
// Debian's Chromium, driven by playwright-core. Never a downloaded browser:
// scripts/ensure-browser.sh installs /usr/bin/chromium with apt. The flags
// keep Chromium off the network (this machine reaches only its own ports)
// and each launch gets a fresh profile.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const EXECUTABLE = process.env.WSTG_CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A browser context with a fresh --user-data-dir; close() removes it.
 * `token`: saved in every page's localStorage before its scripts run (the
 * bridge's page and the drop-in script's default key), as a tester who
 * entered it once would have it.
 */
async function launch({ token } = {}) {
  if (!fs.existsSync(EXECUTABLE)) {
    throw new Error(`${EXECUTABLE} is missing: run scripts/ensure-browser.sh`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wstg-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: EXECUTABLE,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  if (token) {
    await context.addInitScript((t) => {
      // about:blank and other opaque origins have no localStorage.
      try {
        for (const key of ['wstg-bridge:token', 'wstg-sync:token']) {
          if (!localStorage.getItem(key)) localStorage.setItem(key, t);
        }
      } catch (e) { /* nothing to seed */ }
    }, token);
  }
  const errors = [];
  context.on('weberror', (e) => errors.push(String(e.error())));
  return {
    context,
    errors,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(String(e)));
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

module.exports = { launch };

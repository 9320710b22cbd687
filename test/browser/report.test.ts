// The `frugal report` page in real headless Chromium: every section and table renders with rows,
// the SVG plots have a size on screen, and the page logs no errors. Skips without chromium.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'puppeteer-core';
import { renderReport } from '../../src/report/html/report.js';
import { chromiumPath, INSTALL_HINT, launchChromium, openPage } from './chromium.js';

const skip = chromiumPath() ? false : `chromium is not installed: ${INSTALL_HINT}`;
const KINDS = ['train', 'compress', 'plan', 'bench'];

describe('frugal report page in headless chromium', { skip }, () => {
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'frugal-report-page-'));
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders every section, table and plot, with no console errors', async () => {
    const runs = KINDS.map((k) => ({
      source: `${k}.json`,
      json: JSON.parse(
        readFileSync(new URL(`../report/fixtures/${k}.json`, import.meta.url), 'utf8'),
      ),
    }));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport(runs));
    const { page, log } = await openPage(browser, pathToFileURL(file).href);
    const seen = await page.evaluate(() => ({
      kinds: Array.from(document.querySelectorAll('section')).map((s) => s.dataset.kind),
      emptyTables: Array.from(document.querySelectorAll('table')).filter(
        (t) => t.querySelectorAll('tbody tr').length === 0,
      ).length,
      tables: document.querySelectorAll('table').length,
      plots: Array.from(document.querySelectorAll('svg')).map(
        (s) => s.getBoundingClientRect().width,
      ),
    }));
    assert.deepEqual(seen.kinds, KINDS);
    assert.ok(seen.tables >= 8, `${seen.tables} tables`);
    assert.equal(seen.emptyTables, 0);
    assert.equal(seen.plots.length, 2);
    for (const w of seen.plots) assert.ok(w > 100, `plot width ${w}`);
    assert.deepEqual(log.errors, []);
    await page.close();
  });
});

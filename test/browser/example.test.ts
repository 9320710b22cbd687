// The browser example in real headless Chromium (Debian's package, driven by puppeteer-core):
// builds the bundle, serves it, trains plain and 2-bit CNNs on wasm and cpu, checks that training
// progresses, memory figures appear, the int8 model downloads and loads back, and that the page
// logs no console errors. Skips (saying how to install it) when chromium is absent.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { buildExample } from '../../examples/browser/build.js';
import { type StaticServer, serveStatic } from '../../examples/browser/serve.js';
import { chromiumPath, INSTALL_HINT, launchChromium, openPage } from './chromium.js';

const chromium = chromiumPath();
const skip = chromium ? false : `chromium is not installed: ${INSTALL_HINT}`;
if (skip) console.log(`# browser tests skipped: ${skip}`);
// Not run here (docs/browser.md): webgl (SwiftShader WebGL2 starts, but the CNN's first training
// step did not finish within 120 s in headless Chromium on this 2-core machine: the page's main
// thread stays blocked; not diagnosed yet) and webgpu (Chromium exposes a SwiftShader adapter,
// but @tensorflow/tfjs-backend-webgpu is not a dependency, so tfjs has no 'webgpu' backend).
else
  console.log(
    '# browser tests run wasm and cpu; webgl and webgpu are not run: see docs/browser.md',
  );

interface Demo {
  phase: string;
  step: number;
  plain: { losses: number[]; memory: { peakBytes: number; savedActivationBytes: number } | null };
  act2: { losses: number[]; memory: { peakBytes: number; savedActivationBytes: number } | null };
  compressed: { accuracy: number } | null;
  reloaded: { accuracy: number; maxAbsDiff: number } | null;
  errors: string[];
}

describe('browser example (headless chromium)', { skip }, () => {
  let server: StaticServer;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'frugal-browser-'));

  before(async () => {
    const built = await buildExample({ dir: join(dir, 'site') });
    assert.ok(built.frugalBytes > 0 && built.frugalBytes < built.bundleBytes);
    server = await serveStatic(built.dir, 0);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: trains both models, shows memory, compresses to int8, no console errors`, async () => {
      const { page, log } = await openPage(
        browser,
        `${server.url}?backend=${backend}&auto=1&steps=4&batch=16&filters=8,16&dense=32&evalEvery=4`,
      );
      await page.waitForFunction(
        () =>
          ['done', 'error'].includes((window as unknown as { frugalDemo: Demo }).frugalDemo.phase),
        { timeout: 60_000 },
      );
      const s = await page.evaluate(() => (window as unknown as { frugalDemo: Demo }).frugalDemo);
      assert.deepEqual(s.errors, []);
      assert.equal(s.phase, 'done');
      assert.equal(s.plain.losses.length, 4);
      assert.equal(s.act2.losses.length, 4);
      assert.ok(s.plain.memory && s.act2.memory, 'memory figures measured');
      assert.ok(s.act2.memory.savedActivationBytes < s.plain.memory.savedActivationBytes);
      assert.match(await page.$eval('#act2-peak', (e) => e.textContent ?? ''), /B/);
      assert.ok(s.compressed);
      assert.deepEqual(log.errors, [], 'no console errors');
      await page.close();
    });
  }
  it('wasm: the int8 model downloads and loads back through the file input', async () => {
    const backend = 'wasm';
    const { page } = await openPage(
      browser,
      `${server.url}?backend=wasm&auto=1&steps=2&batch=16&filters=8,16&dense=32&evalEvery=2`,
    );
    await page.waitForFunction(
      () =>
        ['done', 'error'].includes((window as unknown as { frugalDemo: Demo }).frugalDemo.phase),
      { timeout: 60_000 },
    );
    const s = await page.evaluate(() => (window as unknown as { frugalDemo: Demo }).frugalDemo);
    assert.ok(s.compressed);
    const downloads = join(dir, `dl-${backend}`);
    mkdirSync(downloads);
    const cdp = await page.createCDPSession();
    await cdp.send('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await page.click('#download');
    for (
      let i = 0;
      i < 100 &&
      (readdirSync(downloads, { withFileTypes: true }).length < 2 ||
        readdirSync(downloads).some((f) => f.endsWith('.crdownload')));
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    const files = readdirSync(downloads).sort();
    assert.deepEqual(files, ['frugal-cnn-int8.json', 'frugal-cnn-int8.weights.bin']);
    const input = await page.$('#load');
    assert.ok(input);
    await (input as unknown as { uploadFile: (...p: string[]) => Promise<void> }).uploadFile(
      ...files.map((f) => join(downloads, f)),
    );
    await page.waitForFunction(
      () =>
        ['reloaded', 'error'].includes(
          (window as unknown as { frugalDemo: Demo }).frugalDemo.phase,
        ),
      { timeout: 20_000 },
    );
    const r = await page.evaluate(() => (window as unknown as { frugalDemo: Demo }).frugalDemo);
    assert.deepEqual(r.errors, []);
    assert.ok(r.reloaded);
    assert.equal(r.reloaded.accuracy, s.compressed.accuracy);
    assert.ok(r.reloaded.maxAbsDiff < 1e-5, `reloaded outputs differ by ${r.reloaded.maxAbsDiff}`);
    await page.close();
  });
});

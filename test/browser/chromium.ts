// Headless Chromium for the browser tests and bench/browser.ts: Debian's `chromium` package driven
// by puppeteer-core (which downloads no browser). `chromiumPath()` is null when it is absent.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const INSTALL_HINT = 'install it with: apt-get install -y --no-install-recommends chromium';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string | null {
  for (const c of CANDIDATES) if (c && existsSync(c)) return c;
  return null;
}

/**
 * Starts headless Chromium. WebGL runs on SwiftShader (software GL: no GPU needed); WebGPU is
 * asked for with its flags and is used where the browser exposes it.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(`chromium is not installed: ${INSTALL_HINT}`);
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox', // root in a container has no user namespaces for the sandbox
      '--disable-dev-shm-usage',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--enable-unsafe-webgpu',
      '--enable-features=Vulkan',
      '--no-first-run',
      '--no-default-browser-check',
    ],
  });
}

export interface PageLog {
  errors: string[];
  warnings: string[];
}

/** A new page whose console errors and uncaught exceptions are collected. */
export async function openPage(
  browser: Browser,
  url: string,
): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage();
  const log: PageLog = { errors: [], warnings: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
    else if (m.type() === 'warn') log.warnings.push(m.text());
  });
  page.on('pageerror', (e) => log.errors.push(e instanceof Error ? e.message : String(e)));
  page.on('requestfailed', (r) =>
    log.errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`),
  );
  await page.goto(url, { waitUntil: 'load' });
  return { page, log };
}

// bench:browser: the CNN training step in headless Chromium (Debian's chromium via puppeteer-core)
// on each backend that runs there, plain (float32 saves, L0) and 2-bit activations interleaved in
// the same rounds, the memory meter's step peaks, frugal's share of the esbuild bundle, and the
// time from navigation to the end of the first training step. Writes bench/results/browser.json.
// Options: --backends wasm,cpu,webgl --rounds 4 --per-round 2 --batch 32 --timeout-s 420
import { buildExample } from '../examples/browser/build.js';
import { serveStatic } from '../examples/browser/serve.js';
import { chromiumPath, INSTALL_HINT, launchChromium, openPage } from '../test/browser/chromium.js';
import { argValue, numberArg } from './lib/args.js';
import { type Headline, writeResults } from './lib/results.js';

if (!chromiumPath()) throw new Error(`bench:browser needs chromium: ${INSTALL_HINT}`);
const backends = argValue('backends', 'wasm,cpu,webgl').split(',');
const rounds = numberArg('rounds', 4);
const perRound = numberArg('per-round', 2);
const batch = numberArg('batch', 32);
const timeoutMs = numberArg('timeout-s', 420) * 1000;

/** Waits for `p` at most `ms` (errors ignored): closing a hung page must not hang the bench. */
function within(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, ms).unref())]);
}

const built = await buildExample({ dir: 'examples/browser/dist' });
const server = await serveStatic(built.dir, 0);
const browser = await launchChromium();
const headline: Headline = { bundleKb: built.frugalBytes / 1024 };
const runs: Record<string, unknown> = {};
let firstStep: number | null = null;
try {
  for (const backend of backends) {
    const t0 = Date.now();
    const { page, log } = await openPage(
      browser,
      `${server.url}?backend=${backend}&auto=1&bench=1&batch=${batch}&rounds=${rounds}&perRound=${perRound}`,
    );
    try {
      await page.waitForFunction(
        () =>
          ['done', 'error'].includes(
            (window as unknown as { frugalDemo: { phase: string } }).frugalDemo.phase,
          ),
        { timeout: timeoutMs },
      );
      const s = await page.evaluate(
        () => (window as unknown as { frugalDemo: Record<string, unknown> }).frugalDemo,
      );
      if ((s.errors as string[]).length) throw new Error((s.errors as string[]).join('; '));
      const b = s.bench as { plain: Record<string, number>; act2: Record<string, number> };
      runs[backend] = {
        ...b,
        pageToFirstStepMs: s.pageToFirstStepMs,
        consoleErrors: log.errors,
        wallMs: Date.now() - t0,
      };
      headline[`${backend}StepMsPlain`] = b.plain.stepMs;
      headline[`${backend}StepMs2bit`] = b.act2.stepMs;
      // The PeakRatio is "as in Node": bench:act-memory's peak reduction, the meter's
      // forward + backward peak. The whole step (Adam's update included) is StepPeakRatio.
      headline[`${backend}PeakRatio`] = b.plain.activationPeakBytes / b.act2.activationPeakBytes;
      headline[`${backend}StepPeakRatio`] = b.plain.peakBytes / b.act2.peakBytes;
      headline[`${backend}SavedRatio`] = b.plain.savedActivationBytes / b.act2.savedActivationBytes;
      headline[`${backend}DataSyncMsPerStep2bit`] = b.act2.dataSyncMsPerStep;
      headline[`${backend}DataSyncMsPerStepPlain`] = b.plain.dataSyncMsPerStep;
      if (firstStep === null && typeof s.pageToFirstStepMs === 'number')
        firstStep = s.pageToFirstStepMs;
      console.log(
        `${backend}: plain ${b.plain.stepMs.toFixed(0)} ms, 2-bit ${b.act2.stepMs.toFixed(0)} ms, peak ratio ${(b.plain.activationPeakBytes / b.act2.activationPeakBytes).toFixed(2)} (whole step ${(b.plain.peakBytes / b.act2.peakBytes).toFixed(2)})`,
      );
    } catch (e) {
      const reason = `did not complete in headless Chromium within ${timeoutMs / 1000} s: ${(e as Error).message.split('\n')[0]}`;
      runs[backend] = { error: reason };
      headline[`${backend}StepMsPlain`] = null;
      headline[`${backend}StepMs2bit`] = null;
      headline[`${backend}PeakRatio`] = null;
      headline[`${backend}StepPeakRatio`] = null;
      headline[`${backend}Reason`] = reason;
      console.log(`${backend}: ${reason}`);
    } finally {
      // A page stuck in a long GPU-emulation loop (webgl) may never answer close: bounded.
      await within(page.close(), 5000);
    }
  }
} finally {
  await within(browser.close(), 10000);
  browser.process()?.kill('SIGKILL');
  await server.close();
}
headline.pageToFirstStepMs = firstStep;
const path = writeResults('browser', {
  headline,
  note: `CNN (conv32-conv64-pool-dense128) on MNIST digits, batch ${batch}, adam (FrugalAdam: tf.train.adam's arithmetic, fewer update temporaries); plain is the same layers saving float32 activations (L0), 2-bit is L3 with bits 2; step ms are medians over ${rounds} interleaved rounds of ${perRound} steps after one warm-up step each; PeakRatio: plain / 2-bit forward + backward peak from frugal's memory meter (activationMemory, the definition of bench:act-memory's peakReduction in Node); StepPeakRatio: whole-step peaks (one measured step: weights, gradients, Adam state and its update included, which at this batch set the floor for both); dataSync ms per step is the time inside Tensor.dataSync (read-backs: the loss value, and on webgl the compressed layers' activation reads); pageToFirstStepMs is from navigation to the end of the first (plain, warm-up) step on the first backend. Timings taken on a 2-core machine shared by ~8 agents: noisy. bundleKb is frugal's own source (src/) in the minified bundle, from esbuild's metafile.`,
  bundleBytes: built.bundleBytes,
  runs,
});
console.log(`wrote ${path}`);

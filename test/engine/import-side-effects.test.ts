import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Runs, in a fresh Node process, a program that imports tfjs and then `entry` (or nothing), runs
 * a tensor op on the default backend, and prints the registered backends and the active one.
 */
function programAfterImport(entry: string | null): { backends: string[]; backend: string } {
  const imports = entry ? `await import(${JSON.stringify(pathToFileURL(entry).href)});` : '';
  const script = `
    const tf = await import('@tensorflow/tfjs');
    ${imports}
    const y = tf.add(tf.scalar(1), tf.scalar(2));
    if (y.dataSync()[0] !== 3) throw new Error('wrong sum');
    console.log(JSON.stringify({ backends: Object.keys(tf.engine().registryFactory), backend: tf.getBackend() }));
  `;
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

describe('importing frugal has no side effect on the tfjs backend', () => {
  it("'frugal' and 'frugal/node': a tensor op right after the import runs on tfjs's default backend", () => {
    const plain = programAfterImport(null);
    for (const entry of ['src/index.ts', 'src/node.ts']) {
      // Before the fix the op threw "The highest priority backend 'wasm' has not yet been initialized".
      const after = programAfterImport(join(root, entry));
      assert.equal(after.backend, plain.backend, entry);
      assert.deepEqual(after.backends, plain.backends, entry);
    }
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  compileTfjsHeapWasm,
  renderTfjsHeapArtefact,
  TFJS_HEAP_ARTEFACT,
} from '../../src/wasm/build/tfjs-heap.js';
import { tfjsHeapKernels } from '../../src/wasm/tfjs-heap.js';
import { useBackend } from '../helpers.js';

/** Section ids of a wasm binary. */
function sections(b: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8;
  while (p < b.length) {
    ids.push(b[p++]);
    let len = 0;
    let shift = 0;
    let x: number;
    do {
      x = b[p++];
      len |= (x & 127) << shift;
      shift += 7;
    } while (x & 128);
    p += len;
  }
  return ids;
}

describe('kernels on tfjs-backend-wasm memory', () => {
  it('rebuild from source to the committed artefact, and write no memory of their own', async () => {
    const m = await compileTfjsHeapWasm();
    assert.equal(
      readFileSync(TFJS_HEAP_ARTEFACT, 'utf8'),
      renderTfjsHeapArtefact(m),
      'src/wasm/tfjs-heap-wasm.ts is stale: run npm run build:wasm-tfjs-heap',
    );
    for (const b of [m.plain, m.shared]) {
      const mod = new WebAssembly.Module(b as Uint8Array<ArrayBuffer>);
      assert.deepEqual(
        WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`),
        ['env.memory:memory'],
      );
      // No data section (11) and no start function (8): instantiating writes nothing into tfjs.
      assert.ok(!sections(b).includes(11) && !sections(b).includes(8), `${sections(b)}`);
    }
  });

  it("bind to the plain wasm backend's memory", async () => {
    await useBackend('wasm');
    assert.ok(tfjsHeapKernels(tf.backend()) !== null);
    assert.equal(tfjsHeapKernels(tf.backend()), tfjsHeapKernels(tf.backend()), 'one instance');
    assert.equal(tfjsHeapKernels({}), null);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import {
  compileKernelsWasm,
  KERNELS_ARTEFACT,
  renderArtefact,
} from '../../src/wasm/build/compile.js';
import { KERNELS_WASM_BASE64, KERNELS_WASM_BYTES } from '../../src/wasm/kernels-wasm.js';

it('the wasm module rebuilds from source to the committed artefact, byte for byte', async () => {
  const bytes = await compileKernelsWasm();
  const committed = Buffer.from(KERNELS_WASM_BASE64, 'base64');
  assert.equal(committed.length, KERNELS_WASM_BYTES);
  assert.ok(
    Buffer.from(bytes).equals(committed),
    'src/wasm/kernels-wasm.ts is stale: run npm run build:wasm',
  );
  assert.equal(readFileSync(KERNELS_ARTEFACT, 'utf8'), renderArtefact(bytes));
  assert.ok(WebAssembly.validate(new Uint8Array(bytes)));
});

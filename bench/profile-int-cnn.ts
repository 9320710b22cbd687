// Where the int8 zoo CNN's batch-1 predict time goes: per packed layer, the wasm kernel calls
// (quantize, conv2d = im2col + GEMM + epilogue, gemm), the IntLinear JS around them (copy-in,
// allocation, copy-out) and the layer's tfjs glue; the rest of predict is the tfjs ops between
// (pooling, flatten, relu of unfused layers). Then the same for the whole-model integer plan
// (activations kept in wasm memory between layers). Untrained weights (timing only).
// Run: npx tsx bench/profile-int-cnn.ts  (prints a table; writes nothing)
import * as tf from '@tensorflow/tfjs';
import { integerPlan } from '../src/compress/packed/integer-plan.js';
import type { KernelCodec } from '../src/compress/packed/kernel-codec.js';
import { asKernelLayer, packedReplacement } from '../src/compress/packed/layer-kernels.js';
import { initEngine } from '../src/engine/backend.js';
import { useStockKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { type LayerEdit, rewriteModel } from '../src/rewrite/index.js';
import { IntLinear } from '../src/wasm/int-linear.js';
import { wasmKernels } from '../src/wasm/module.js';

const REPS = Number(process.env.PROFILE_REPS ?? 300);
const codec: KernelCodec = { bits: 8, scheme: 'symmetric', granularity: 'channel', n: 0, m: 0 };
const acc = new Map<string, number>();
const add = (key: string, ms: number) => acc.set(key, (acc.get(key) ?? 0) + ms);

function wrap<T extends object>(obj: T, name: keyof T & string, key: (a: unknown[]) => string) {
  const f = obj[name] as unknown as (...a: unknown[]) => unknown;
  (obj as Record<string, unknown>)[name] = function (this: unknown, ...a: unknown[]) {
    const t = performance.now();
    try {
      return f.apply(this, a);
    } finally {
      add(key(a), performance.now() - t);
    }
  };
}

async function main(): Promise<void> {
  await initEngine({ backend: 'wasm', seed: 1 });
  useStockKernels();
  const cnn = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const edits = new Map<string, LayerEdit>();
  for (const layer of cnn.layers) {
    const k = asKernelLayer(layer);
    if (k) edits.set(layer.name, { replace: [packedReplacement(k, codec)] });
  }
  const cnn8 = rewriteModel(cnn, edits).model;
  const x = tf.randomUniform([1, 28, 28, 1]);
  tf.dispose(cnn8.predict(x) as tf.Tensor);
  const plan = integerPlan(cnn8);
  const run = (m: tf.LayersModel | null) => {
    const y = m ? (m.predict(x) as tf.Tensor) : plan.predict(x);
    y.dataSync();
    y.dispose();
  };
  for (let i = 0; i < 20; i++) {
    run(cnn);
    run(cnn8);
    run(null);
  }
  const time = (m: tf.LayersModel | null) => {
    const t = performance.now();
    for (let i = 0; i < REPS; i++) run(m);
    return (performance.now() - t) / REPS;
  };
  const fp32 = time(cnn);
  const plain = time(cnn8);
  const planned = time(null);
  // Instrumented run: wasm exports and IntLinear methods, keyed by layer size.
  const wk = wasmKernels() as unknown as { exports: object };
  const e: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(wk.exports)) e[k] = v;
  wk.exports = e;
  wrap(e, 'quantize', (a) => `wasm quantize k=${a[2]}`);
  wrap(e, 'conv2d', (a) => `wasm conv2d (im2col+gemm) c=${a[4]} n=${a[18]}`);
  wrap(e, 'gemm', (a) => `wasm gemm k=${a[2]} n=${a[5]}`);
  wrap(e, 'maxPool2d', (a) => `wasm maxPool2d c=${a[4]}`);
  const proto = IntLinear.prototype as unknown as Record<string, unknown>;
  wrap(proto as never, 'conv2d' as never, () => 'IntLinear.conv2d total');
  wrap(proto as never, 'dense' as never, () => 'IntLinear.dense total');
  acc.clear();
  const total = time(cnn8);
  const rows = [...acc.entries()].map(([k, v]) => [k, (v / REPS).toFixed(4)]);
  acc.clear();
  const planTotal = time(null);
  const planRows = [...acc.entries()].map(([k, v]) => [k, (v / REPS).toFixed(4)]);
  console.log(`fp32 predict ${fp32.toFixed(4)} ms, int8 predict ${plain.toFixed(4)} ms`);
  console.log(`speedup ${(fp32 / plain).toFixed(3)}x (instrumented int8: ${total.toFixed(4)} ms)`);
  for (const [k, v] of rows) console.log(`${k.padEnd(44)} ${v} ms`);
  console.log(
    `int8 plan predict ${planned.toFixed(4)} ms, speedup ${(fp32 / planned).toFixed(3)}x`,
  );
  console.log(`instrumented plan: ${planTotal.toFixed(4)} ms`);
  for (const [k, v] of planRows) console.log(`${k.padEnd(44)} ${v} ms`);
}

await main();

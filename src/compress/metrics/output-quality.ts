import * as tf from '@tensorflow/tfjs';

/** Signal-to-quantization-noise ratio of `out` against `ref` in dB (Infinity when equal). */
export function sqnrDb(ref: ArrayLike<number>, out: ArrayLike<number>): number {
  if (ref.length !== out.length) throw new Error(`SQNR: ${ref.length} vs ${out.length} values`);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    signal += ref[i] * ref[i];
    noise += (ref[i] - out[i]) ** 2;
  }
  return noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
}

/** Model outputs on `xs` in batches, as one flat array. */
export function predictAll(model: tf.LayersModel, xs: tf.Tensor, batchSize = 128): Float32Array {
  return tf.tidy(() => (model.predict(xs, { batchSize }) as tf.Tensor).dataSync() as Float32Array);
}

/** Top-1 accuracy of logits [count * classes] against integer labels. */
export function accuracyOf(logits: Float32Array, labels: Int32Array): number {
  const classes = logits.length / labels.length;
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    }
    if (best === labels[i]) right++;
  }
  return right / labels.length;
}

/** Median wall time (ms) of one `predict` on `xs`, after warm-up, waiting for the data. */
export async function latencyMs(model: tf.LayersModel, xs: tf.Tensor, runs = 10): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const y = model.predict(xs) as tf.Tensor;
    await y.data();
    y.dispose();
    return performance.now() - t0;
  };
  await once();
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/**
 * Median latencies (ms) of two models on the same batch, measured in alternation so that
 * warm-up and machine noise hit both alike.
 */
export async function pairedLatencyMs(
  a: tf.LayersModel,
  b: tf.LayersModel,
  xs: tf.Tensor,
  runs = 15,
): Promise<[number, number]> {
  const once = async (m: tf.LayersModel) => {
    const t0 = performance.now();
    const y = m.predict(xs) as tf.Tensor;
    await y.data();
    y.dispose();
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) {
    await once(a);
    await once(b);
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    ta.push(await once(a));
    tb.push(await once(b));
  }
  const median = (t: number[]) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)];
  return [median(ta), median(tb)];
}

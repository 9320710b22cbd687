import * as tf from '@tensorflow/tfjs';
import { sliceRows } from './row-chunks.js';
import { canOverwrite, overwriteRows } from './row-writer.js';

/**
 * `fork(x, n)`: n views of x (no copy), one per consumer, as one op with n outputs whose gradient
 * sums the consumers' gradients itself, into one of their buffers where it may. When ops read a
 * tensor directly, tfjs's tape sums their gradients with `add(sum, dx)`: the running sum, the
 * new contribution and the result are three full-size buffers at once.
 */
const KERNEL = 'FrugalFork';

interface RefCounting {
  incRef(dataId: tf.DataId): void;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  for (const backendName of ['cpu', 'wasm', 'webgl', 'webgpu', 'tensorflow']) {
    tf.registerKernel({
      kernelName: KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = inputs.x as tf.TensorInfo;
        const n = (attrs as { n: number }).n;
        return Array.from({ length: n }, () => {
          (backend as unknown as RefCounting).incRef(x.dataId);
          return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
        });
      },
    });
  }
  tf.registerGradient({
    kernelName: KERNEL,
    gradFunc: (dy, _saved, attrs) => {
      const floor = (attrs as { inputId: number }).inputId;
      const dys = (Array.isArray(dy) ? dy : [dy]).filter((t): t is tf.Tensor => t != null);
      return { x: () => sumGrads(dys, floor) };
    },
  });
}

/**
 * The sum of the consumers' gradients. Those made by the backward (ids above the forked input's)
 * are read by no one else: the sum is written over the first one where the backend allows it, and
 * the others are freed at once (the tape itself would keep them until the backward ends).
 */
function sumGrads(all: tf.Tensor[], floor: number): tf.Tensor {
  // A consumer that added its gradient into a sibling's (see siblingGradient) returned that
  // same tensor: it holds both, and counts once.
  const dys = all.filter((t, i) => all.indexOf(t) === i);
  if (dys.length === 1) return dys[0];
  const owned = dys.every((t) => t.id > floor);
  const [first, ...rest] = dys;
  const sum =
    (owned
      ? overwriteRows(first, (r, row) =>
          tf.addN([r, ...rest.map((t) => sliceRows(t, row, r.shape[0]))]),
        )
      : null) ?? tf.addN(dys);
  if (owned) for (const t of dys) t.dispose();
  return sum;
}

/** n views of x for n consumers, whose gradients the op sums (see above). */
export function fork(x: tf.Tensor, n: number): tf.Tensor[] {
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`fork: n must be a positive integer, got ${n}`);
  register();
  const outs = tf.engine().runKernel(KERNEL, { x }, { n, inputId: x.id }) as unknown as tf.Tensor[];
  const group: Group = { floor: x.id, returned: [] };
  for (const v of outs) groups.set(v, group);
  // A copy: the engine's tape keeps this very array as the op's outputs.
  return [...outs];
}

interface Group {
  floor: number;
  /** Gradients consumers returned for views of the group, in the order the backward made them. */
  returned: tf.Tensor[];
}
const groups = new WeakMap<tf.Tensor, Group>();

/** Notes `g`, the gradient a consumer returned for `input` (when input is a fork view). */
export function noteGradient(input: tf.Tensor, g: tf.Tensor): void {
  groups.get(input)?.returned.push(g);
}

/**
 * A gradient another consumer of the same forked tensor already returned, that the backward made
 * and no one else holds (the fork sums it in its own backward): a consumer may add its gradient
 * for `input` into it, row by row, and return it (one buffer instead of two). Null if none.
 */
export function siblingGradient(input: tf.Tensor): tf.Tensor | null {
  const group = groups.get(input);
  if (!group) return null;
  return (
    group.returned.find(
      (t) => !t.isDisposed && t.id > group.floor && canOverwrite(t) && t.shape.length > 0,
    ) ?? null
  );
}

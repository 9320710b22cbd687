import * as tf from '@tensorflow/tfjs';

/**
 * A private gradient tape for one stage of a chain. tfjs only offers `grads(f)`, which runs the
 * forward and the backward of `f` in one call and keeps every saved tensor (and every
 * intermediate gradient) until the whole backward ends. Rematerialization needs the two halves
 * apart: record a stage's forward now, run its backward later, and free its saved tensors as
 * soon as that backward is done. This module does that with the engine's own tape nodes
 * (the same bookkeeping tfjs uses), swapping the engine's active tape for a private one.
 * It sits in engine/, below both of its users: remat (stage tapes, untaped runs) and activation
 * (`isRecording`), so neither folder imports the other's internals for it.
 */

export interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineState {
  activeTape: TapeNode[] | null;
  gradientDepth: number;
  kernelDepth: number;
}

interface EngineInternals {
  state: EngineState;
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  nextTensorId(): number;
  incRef(t: tf.Tensor, backend: tf.KernelBackend | null): void;
}

function engineInternals(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

function engineState(): EngineState {
  return engineInternals().state;
}

/**
 * A kept tensor sharing `t`'s buffer (reference counted, no copy). tfjs saves a kernel's tensors
 * for backward with `clone`, which shares the buffer on cpu but copies it on wasm (its Identity
 * kernel copies): a recorded stage would hold each saved activation once per kernel that saves
 * it. Buffers are immutable (a variable's `assign` moves it to a new buffer), so sharing is safe.
 */
export function shareBuffer(t: tf.Tensor): tf.Tensor {
  const e = engineInternals();
  const a = new tf.Tensor(t.shape, t.dtype, t.dataId, e.nextTensorId());
  e.incRef(a, null);
  return tf.keep(a);
}

/** Runs `f` with the engine's tape switched to `tape` (or off when `tape` is null). */
function withTape<T>(tape: TapeNode[] | null, f: () => T): T {
  const e = engineInternals();
  const s = e.state;
  const saved = {
    activeTape: s.activeTape,
    gradientDepth: s.gradientDepth,
    kernelDepth: s.kernelDepth,
  };
  const save = e.saveTensorsForBackwardMode;
  s.activeTape = tape;
  s.gradientDepth = tape === null ? 0 : 1;
  s.kernelDepth = 0;
  if (tape !== null) e.saveTensorsForBackwardMode = (ts) => ts.map(shareBuffer);
  try {
    return f();
  } finally {
    s.activeTape = saved.activeTape;
    s.gradientDepth = saved.gradientDepth;
    s.kernelDepth = saved.kernelDepth;
    e.saveTensorsForBackwardMode = save;
  }
}

/** True when an enclosing `tf.grads`/`tf.variableGrads` is recording the forward pass. */
export function isRecording(): boolean {
  const s = engineState();
  return s.gradientDepth > 0 && s.kernelDepth === 0;
}

/** Runs `f` with no tape active (its kernels are not recorded), e.g. compression during a recording. */
export function untaped<T>(f: () => T): T {
  return withTape(null, f);
}

/** Runs `f` inside `tidy` with no tape: nothing is saved for backward. Returns a kept tensor. */
export function runWithoutTape(f: () => tf.Tensor): tf.Tensor {
  return tf.keep(withTape(null, () => tf.tidy(f)));
}

/** The recorded forward of one stage: the output and the tape nodes holding saved tensors. */
export class StageTape {
  constructor(
    readonly output: tf.Tensor,
    readonly nodes: TapeNode[],
  ) {}

  /** Every tensor the tape keeps for backward (saved by kernels), each listed once. */
  savedTensors(): tf.Tensor[] {
    const out: tf.Tensor[] = [];
    for (const n of this.nodes) for (const t of n.saved ?? []) out.push(t);
    return out;
  }

  /** Gradients of the output (seeded with `dy`) with respect to `xs`; see `backprop`. */
  backward(dy: tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
    return backprop(this, dy, xs);
  }

  /** Frees the saved tensors (the output belongs to the caller). */
  dispose(): void {
    for (const t of this.savedTensors()) t.dispose();
    this.nodes.length = 0;
  }
}

/**
 * Kernels whose stock gradient reads only the shapes of what it saves (reductions, broadcasting
 * arithmetic, reshape): a recorded tape keeps a shape for them instead of the buffer. The stock
 * gradient functions are captured on first use; a kernel whose gradient was re-registered since
 * keeps its tensors.
 */
const SHAPE_ONLY_KERNELS = ['Mean', 'Sum', 'Reshape', 'Add', 'Sub'];
let shapeOnlyGradients: Map<string, unknown> | undefined;

function readsOnlyShapes(kernelName: string): boolean {
  shapeOnlyGradients ??= new Map(
    SHAPE_ONLY_KERNELS.map((k) => [k, tf.getGradient(k)?.gradFunc] as const),
  );
  const stock = shapeOnlyGradients.get(kernelName);
  return stock !== undefined && tf.getGradient(kernelName)?.gradFunc === stock;
}

/**
 * Stands in for a saved tensor whose gradient needs only its shape: holds no buffer, reads as
 * disposed (so nothing frees or compresses it).
 */
function shapeOnly(t: tf.Tensor): tf.Tensor {
  const stub = { shape: t.shape, dtype: t.dtype, rank: t.rank, size: t.size, dataId: {} };
  return Object.assign(stub, { isDisposed: true, dispose: () => {} }) as unknown as tf.Tensor;
}

/**
 * Runs `f` recording its kernels on a private tape; the output is kept (caller disposes it).
 * `f` gets the tape's node list as it grows (a compressor may shrink saved tensors mid-forward).
 * Saved tensors of kernels whose gradients read only shapes are dropped as nodes are recorded.
 */
export function recordTape(f: (nodes: TapeNode[]) => tf.Tensor): StageTape {
  const nodes: TapeNode[] = [];
  nodes.push = (...added: TapeNode[]) => {
    for (const n of added) {
      if (n.saved && n.saved.length > 0 && readsOnlyShapes(n.kernelName)) {
        n.saved.forEach((t, i) => {
          n.saved![i] = shapeOnly(t);
          t.dispose();
        });
      }
    }
    return Array.prototype.push.apply(nodes, added);
  };
  const output = tf.keep(withTape(nodes, () => tf.tidy(() => f(nodes))));
  return new StageTape(output, nodes);
}

/** Called around each tape node's gradient (a compressed tape restores that node's tensors). */
export interface BackpropHooks {
  beforeNode(node: TapeNode): void;
  afterNode(node: TapeNode): void;
}

/** Nodes on a path from any of `xs` to `y`, in tape order, with inputs pruned to that path. */
function pathNodes(nodes: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const n of nodes) {
    if (Object.values(n.inputs).some((t) => fromX.has(t.id))) {
      nodeFromX.add(n.id);
      for (const o of n.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const nodeToY = new Set<number>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.outputs.some((o) => toY.has(o.id))) {
      nodeToY.add(n.id);
      for (const t of Object.values(n.inputs)) toY.add(t.id);
    }
  }
  const out: TapeNode[] = [];
  for (const n of nodes) {
    if (!nodeFromX.has(n.id) || !nodeToY.has(n.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [k, t] of Object.entries(n.inputs)) if (fromX.has(t.id)) inputs[k] = t;
    out.push({ ...n, inputs });
  }
  return out;
}

/**
 * Backward of a recorded stage: gradients of `tape.output` (seeded with `dy`) with respect to
 * each of `xs` (zeros where `y` does not depend on one). Unlike tfjs's own backward, each
 * intermediate gradient is freed as soon as it has been propagated. Does not free the tape.
 */
export function backprop(
  tape: StageTape,
  dy: tf.Tensor,
  xs: tf.Tensor[],
  hooks?: BackpropHooks,
): tf.Tensor[] {
  const path = pathNodes(tape.nodes, xs, tape.output);
  return withTape(null, () =>
    tf.tidy(() => {
      const acc = new Map<number, tf.Tensor>();
      acc.set(tape.output.id, dy);
      const protectedIds = new Set(xs.map((x) => x.id));
      const inUse = (t: tf.Tensor) => {
        if (t === dy) return true;
        for (const v of acc.values()) if (v === t) return true;
        return false;
      };
      for (let i = path.length - 1; i >= 0; i--) {
        const node = path[i];
        if (!node.gradient) throw new Error(`no gradient registered for kernel ${node.kernelName}`);
        const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
        hooks?.beforeNode(node);
        const grads = node.gradient(dys);
        for (const [name, x] of Object.entries(node.inputs)) {
          const dx = tf.tidy(() => grads[name]());
          const cur = acc.get(x.id);
          if (cur === undefined) {
            acc.set(x.id, dx);
          } else {
            acc.set(x.id, tf.add(cur, dx));
            if (!inUse(cur)) cur.dispose();
            if (!inUse(dx)) dx.dispose();
          }
        }
        hooks?.afterNode(node);
        // Every consumer of this node's outputs came later on the tape: their gradients are final
        // and no longer needed.
        for (const o of node.outputs) {
          if (protectedIds.has(o.id)) continue;
          const g = acc.get(o.id);
          acc.delete(o.id);
          if (g !== undefined && !inUse(g)) g.dispose();
        }
      }
      return xs.map((x) => {
        const g = acc.get(x.id);
        if (g === undefined) return tf.zerosLike(x);
        return g === dy ? dy.clone() : g;
      });
    }),
  );
}

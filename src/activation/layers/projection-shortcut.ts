import * as tf from '@tensorflow/tfjs';
import { activationRows } from '../backward/activation-rows.js';
import { addParts } from '../backward/chunked-backward.js';
import { CONV2D_GRADS, convChunkGrads } from '../backward/conv-grad.js';
import { compressedOp } from '../backward/custom-grad.js';
import { normGrad, normSums, rowMoments, xhatRows } from '../backward/norm-rows.js';
import { saveActivationGrad } from '../codec/activation-save.js';
import {
  restoreRowsOf,
  type Saved,
  savedBytes,
  saveExact,
  saveList,
  saveQuantized,
  splitSaved,
} from '../codec/saved.js';
import { rowSaver } from '../codec/saved-rows.js';
import { isDonated } from '../execution/donated-inputs.js';
import { rowsPerChunk, sliceRows } from '../execution/row-chunks.js';
import { canOverwrite, rowWriter } from '../execution/row-writer.js';
import type { CompressedActivation } from './compressed-activation.js';
import type { CompressedBatchNorm } from './compressed-batch-norm.js';
import type { CompressedConv2D } from './compressed-conv2d.js';

/** The layers of a residual block's projection shortcut and the ReLU after its add. */
export interface ProjectionShortcut {
  conv: CompressedConv2D;
  norm: CompressedBatchNorm;
  relu: CompressedActivation;
}

/** Why the layers cannot run as one fused op (null: they can). */
export function projectionShortcutUnfusable(p: ProjectionShortcut): string | null {
  if (p.conv.activation !== 'linear') return 'the convolution has an activation';
  if (p.conv.gradPruner !== null) return 'the convolution prunes its gradient (gradSparsity)';
  if (p.relu.activation !== 'relu') return 'the activation after the add is not a ReLU';
  if ([p.conv, p.norm, p.relu].some((l) => l.perSample)) return 'per-sample bits';
  if (p.relu.fewbit !== 0) return 'few-bit codes';
  // With float32 saves the conv output is saved in full anyway, and the fused backward would
  // hold the saves to its end: fusing gains nothing there.
  if ([p.conv, p.norm, p.relu].some((l) => l.actBits === 32)) return 'float32 saves';
  return null;
}

/**
 * relu(main + batchNorm(conv(x))), a residual block's output with a projection shortcut, as one
 * op in training: the same values, saves and gradients as the four layers (conv, batch norm, add,
 * ReLU) one after another, but the shortcut's conv output p never exists in full. Its batch
 * statistics come from a first pass over row chunks (conv of the chunk, Chan's combination of the
 * chunks' moments), then a second pass recomputes each chunk's p, saves it (quantized a chunk at
 * a time, `rowSaver`), normalizes it, adds main's rows and applies the ReLU, writing over main
 * where main is freed next (its value is not kept: the ReLU keeps a mask). The backward runs the
 * ReLU's mask, the batch norm's two reductions, then per chunk the batch norm's dx rows straight
 * into the conv's gradients, so the batch norm's dx never exists in full either.
 */
export function projectionShortcutAdd(
  p: ProjectionShortcut,
  x: tf.Tensor4D,
  main: tf.Tensor4D,
): tf.Tensor {
  const why = projectionShortcutUnfusable(p);
  if (why) throw new Error(`projectionShortcutAdd: ${p.conv.name} cannot be fused: ${why}`);
  return tf.tidy(() => {
    const { w, b } = p.conv.kernelAndBias();
    const { gamma, beta } = p.norm.scaleAndShift();
    const inputs = b ? [x, main, w, gamma, beta, b] : [x, main, w, gamma, beta];
    return compressedOp(inputs, (save) => {
      const { strides, padding, actBits } = p.conv;
      const eps = p.norm.epsilon;
      const n = x.shape[0];
      const convRows = (rows: tf.Tensor4D) =>
        tf.tidy(() => {
          const z = tf.conv2d(rows, w, strides, padding);
          return b ? tf.add(z, b) : z;
        }) as tf.Tensor4D;
      // The conv's save of x first, then the batch norm's of p: the activation stream's order of
      // the unfused layers.
      const xs = saveQuantized(x, actBits);
      const rows = rowsPerChunk(n, (4 * Math.max(x.size, main.size)) / n);
      const { mean, variance } = rowMoments(n, rows, (first, count) => {
        const xr = sliceRows(x, first, count) as tf.Tensor4D;
        const pr = convRows(xr);
        xr.dispose();
        return pr;
      });
      const invStd = tf.rsqrt(tf.add(variance, eps));
      p.norm.updateMovingStatistics(mean, variance);
      const pSave = rowSaver(main.shape, p.norm.actBits);
      const exactSum = p.relu.actBits === 32;
      // Written over main where the caller frees main next (the ReLU keeps a mask, not main).
      const over = !exactSum && isDonated(main) && canOverwrite(main) ? main : null;
      const out = rowWriter(main.shape, over);
      const sum = exactSum ? rowWriter(main.shape) : null;
      for (let first = 0; first < n; first += rows) {
        const count = Math.min(rows, n - first);
        const xr = sliceRows(x, first, count) as tf.Tensor4D;
        const pr = convRows(xr);
        xr.dispose();
        pSave.add(first, pr);
        const mr = sliceRows(main, first, count);
        const sr = tf.tidy(() => tf.add(tf.batchNorm(pr, mean, variance, beta, gamma, eps), mr));
        tf.dispose([pr, mr]);
        if (sum) sum.write(first, sr.clone());
        out.write(first, tf.relu(sr));
        sr.dispose();
      }
      const written = out.finish();
      // A new view when main's own buffer holds the output (an op's output is not its input).
      const value = over ? tf.reshape(main, main.shape) : written;
      const ps = pSave.finish();
      const st = saveExact(tf.concat([mean, invStd]));
      // The ReLU's state: at 32 bits the exact sum (the unfused ReLU's input), else the mask of
      // the output (output > 0 exactly where the sum is).
      const sumTensor = sum ? sum.finish() : null;
      const act = saveActivationGrad('relu', sumTensor ?? value, {
        bits: p.relu.actBits,
        fewbit: 0,
      });
      const parts = [xs, ps, st, act] as Saved<unknown>[];
      save(saveList(parts));
      recordDiagnostics(p, xs, ps, st, act, x.size, main.size);
      return {
        value,
        gradFunc: (dy, saved, freeDy, dyOwned) => {
          const [sx, sp, sst, sa] = splitSaved(saved, parts);
          const [mu, is] = tf.split(st.restore(sst), 2);
          // dy through the ReLU's mask: the gradient of main (into dy's buffer where it may).
          const ds = activationRows(act, sa, dy, freeDy, dyOwned);
          tf.dispose(sa); // the mask is consumed
          const xhRows = xhatRows(ps, sp, mu, is);
          const sums = normSums(ds, xhRows, gamma);
          const dnorm = normGrad(sums, is, gamma, ds.size);
          // The batch norm's dx rows feed the conv's gradients at once (dilated by the strides).
          const dilated = ds.size * strides[0] * strides[1];
          const cRows = rowsPerChunk(n, (4 * Math.max(dilated, x.size)) / n);
          const dxWriter = rowWriter(x.shape);
          let params: tf.Tensor[] | null = null;
          for (let first = 0; first < n; first += cRows) {
            const count = Math.min(cRows, n - first);
            const d = sliceRows(ds, first, count);
            const xh = xhRows(first, count);
            const dp = dnorm(d, xh) as tf.Tensor4D;
            tf.dispose([d, xh]);
            const xr = restoreRowsOf(xs, sx, first, count) as tf.Tensor4D;
            const g = convChunkGrads(CONV2D_GRADS, dp, xr, w, !!b, strides, padding);
            dp.dispose();
            dxWriter.write(first, g.dx);
            params = addParts(params, g.params);
          }
          tf.dispose([mu, is]);
          dnorm.dispose();
          const [dw, db] = params ?? [];
          const { dgamma, dbeta } = sums;
          return b
            ? [dxWriter.finish(), ds, dw, dgamma, dbeta, db]
            : [dxWriter.finish(), ds, dw, dgamma, dbeta];
        },
      };
    });
  });
}

/** The layers' diagnostics (bytes saved, bytes a float32 save would take), as unfused. */
function recordDiagnostics(
  p: ProjectionShortcut,
  xs: Saved<unknown>,
  ps: Saved<unknown>,
  st: Saved<unknown>,
  act: Saved<unknown>,
  xSize: number,
  outSize: number,
): void {
  p.conv.lastSavedBytes = savedBytes([xs]);
  p.conv.lastExactBytes = 4 * xSize;
  p.norm.lastSavedBytes = savedBytes([ps, st]);
  p.norm.lastExactBytes = 4 * outSize + st.tensors[0].size * 4;
  p.relu.lastSavedBytes = savedBytes([act]);
  p.relu.lastExactBytes = 4 * outSize;
}

/** A step of the streaming forward: a layer reading tensors `ins` (ids) and making `outs`. */
export interface ForwardStep {
  layer: tf.layers.Layer;
  ins: number[];
  outs: number[];
  /** Runs the step in training instead of `layer.apply` (a fused op of several layers). */
  train?: (args: tf.Tensor[]) => tf.Tensor;
}

/**
 * `steps` with each projection shortcut (a Conv2D of a tensor other layers read too, read only by
 * a BatchNorm read only by an Add of two tensors read only by a ReLU, all compressed, fusable)
 * replaced by one step that runs
 * `projectionShortcutAdd` where the ReLU ran: the conv output, its normalization and the sum are
 * never made. `uses` counts the readers of each tensor id.
 */
export function fuseProjectionShortcuts(
  steps: ForwardStep[],
  uses: Map<number, number>,
): ForwardStep[] {
  const producer = new Map<number, ForwardStep>();
  for (const s of steps) for (const id of s.outs) producer.set(id, s);
  const once = (id: number) => uses.get(id) === 1;
  const cls = (s: ForwardStep | undefined, name: string) => s?.layer.getClassName() === name;
  const removed = new Set<ForwardStep>();
  const replaced = new Map<ForwardStep, ForwardStep>();
  for (const relu of steps) {
    if (!cls(relu, 'FrugalCompressedActivation') || relu.ins.length !== 1) continue;
    const add = producer.get(relu.ins[0]);
    if (!add || !cls(add, 'FrugalNoSaveAdd') || add.ins.length !== 2 || !once(relu.ins[0]))
      continue;
    for (const k of [0, 1]) {
      const norm = producer.get(add.ins[k]);
      const mainId = add.ins[1 - k];
      if (!norm || !cls(norm, 'FrugalCompressedBatchNorm') || !once(add.ins[k])) continue;
      const conv = producer.get(norm.ins[0]);
      if (!conv || !cls(conv, 'FrugalCompressedConv2D') || !once(norm.ins[0])) continue;
      // The shortcut's conv reads the block input, which the main branch reads too: fused, the
      // conv output never exists beside that input and the main branch's output.
      if (mainId === add.ins[k] || conv.ins[0] === mainId || once(conv.ins[0])) continue;
      const p: ProjectionShortcut = {
        conv: conv.layer as CompressedConv2D,
        norm: norm.layer as CompressedBatchNorm,
        relu: relu.layer as CompressedActivation,
      };
      if (projectionShortcutUnfusable(p) !== null) continue;
      for (const s of [conv, norm, add]) removed.add(s);
      replaced.set(relu, {
        layer: relu.layer,
        ins: [conv.ins[0], mainId],
        outs: relu.outs,
        // The fused op reads the layers' bits when it runs (mixed precision changes them).
        train: (args) =>
          projectionShortcutUnfusable(p) === null
            ? projectionShortcutAdd(p, args[0] as tf.Tensor4D, args[1] as tf.Tensor4D)
            : unfusedShortcut(p, add.layer, args[0], args[1]),
      });
      break;
    }
  }
  return steps.filter((s) => !removed.has(s)).map((s) => replaced.get(s) ?? s);
}

/** The four layers one after another (a layer's settings changed since the plan was made). */
function unfusedShortcut(
  p: ProjectionShortcut,
  add: tf.layers.Layer,
  x: tf.Tensor,
  main: tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => {
    const training = { training: true };
    const q = p.norm.apply(p.conv.apply(x, training), training) as tf.Tensor;
    return p.relu.apply(add.apply([main, q], training), training) as tf.Tensor;
  });
}

import * as tf from '@tensorflow/tfjs';
import { activationRows } from '../backward/activation-rows.js';
import { CONV2D_GRADS, convChunkGrads } from '../backward/conv-grad.js';
import { compressedOp } from '../backward/custom-grad.js';
import { normGrad, normSums, rowMoments, tensorMoments, xhatRows } from '../backward/norm-rows.js';
import { saveActivationGrad } from '../codec/activation-save.js';
import { heapView } from '../codec/js-memory.js';
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
import { rowsPerChunk, sliceRows } from '../execution/row-chunks.js';
import { canOverwrite, rowAccumulator, rowWriter } from '../execution/row-writer.js';
import type { CompressedActivation } from './compressed-activation.js';
import type { CompressedBatchNorm } from './compressed-batch-norm.js';
import type { CompressedConv2D } from './compressed-conv2d.js';
import type { ForwardStep } from './projection-shortcut.js';

/**
 * The layers of a basic residual block: conv1, bn1, relu1, conv2, bn2, then add the shortcut and
 * relu2. The shortcut is the block input, or with `projection` bn(conv(input)).
 */
export interface IdentityBlock {
  conv1: CompressedConv2D;
  norm1: CompressedBatchNorm;
  relu1: CompressedActivation;
  conv2: CompressedConv2D;
  norm2: CompressedBatchNorm;
  relu2: CompressedActivation;
  projection?: { conv: CompressedConv2D; norm: CompressedBatchNorm };
}

const layersOf = (b: IdentityBlock) => [
  b.conv1,
  b.norm1,
  b.relu1,
  b.conv2,
  b.norm2,
  b.relu2,
  ...(b.projection ? [b.projection.conv, b.projection.norm] : []),
];

/** Why the block cannot run as one fused op (null: it can), given its input's channels. */
export function identityBlockUnfusable(b: IdentityBlock, channels?: number): string | null {
  const convs = [b.conv1, b.conv2, ...(b.projection ? [b.projection.conv] : [])];
  for (const c of convs) {
    if (c.activation !== 'linear') return `${c.name} has an activation`;
    if (c.useBias) return `${c.name} has a bias`;
    if (c.gradPruner !== null) return `${c.name} prunes its gradient (gradSparsity)`;
  }
  const same = (c: CompressedConv2D) =>
    c.strides[0] === 1 && c.strides[1] === 1 && c.padding === 'same';
  if (!same(b.conv2) || b.conv2.filters !== b.conv1.filters)
    return `${b.conv2.name} changes the shape of conv1's output`;
  if (b.projection) {
    const p = b.projection.conv;
    const differ = p.strides.some((v, i) => v !== b.conv1.strides[i]);
    if (
      p.filters !== b.conv1.filters ||
      differ ||
      p.padding !== 'same' ||
      b.conv1.padding !== 'same'
    )
      return `${p.name} and ${b.conv1.name} give outputs of different shapes`;
  } else {
    if (!same(b.conv1)) return `${b.conv1.name} changes the spatial size`;
    if (channels !== undefined && b.conv1.filters !== channels)
      return `${b.conv1.name} changes the channels (${channels} to ${b.conv1.filters})`;
  }
  if (b.relu1.activation !== 'relu' || b.relu2.activation !== 'relu') return 'not ReLU activations';
  if (layersOf(b).some((l) => l.perSample)) return 'per-sample bits';
  // With float32 saves every intermediate is saved in full anyway: fusing gains nothing.
  if (layersOf(b).some((l) => l.actBits === 32)) return 'float32 saves';
  return null;
}

/**
 * relu2(x + bn2(conv2(relu1(bn1(conv1(x)))))), a basic residual block with an identity shortcut,
 * as one op in training: the same values, saves and gradients as its seven layers one after
 * another. The forward works in place in small row chunks (batch-norm moments, normalization,
 * conv2 and the shortcut add), so beside the block input only one full tensor exists. The
 * backward runs through both batch norms without their dx in full: the ReLU mask (dy's buffer),
 * bn2's reductions, a pass over row chunks for bn2's dx, conv2's input gradient, relu1's mask and
 * bn1's reductions (and conv2's filter gradient), then a second pass recomputing those rows on to
 * bn1's dx and conv1's gradients, whose input-gradient rows are added into the buffer that holds
 * the shortcut's gradient. Only that buffer is full-size.
 */
export function identityBlock(b: IdentityBlock, x: tf.Tensor4D): tf.Tensor {
  const why = identityBlockUnfusable(b, x.shape[3]);
  if (why) throw new Error(`identityBlock: ${b.conv1.name} cannot be fused: ${why}`);
  return tf.tidy(() => {
    const w1 = b.conv1.kernelAndBias().w;
    const w2 = b.conv2.kernelAndBias().w;
    const n1 = b.norm1.scaleAndShift();
    const n2 = b.norm2.scaleAndShift();
    const proj = b.projection;
    const wp = proj?.conv.kernelAndBias().w;
    const np = proj?.norm.scaleAndShift();
    const inputs = [x, w1, n1.gamma, n1.beta, w2, n2.gamma, n2.beta];
    if (proj && wp && np) inputs.push(wp, np.gamma, np.beta);
    return compressedOp(inputs, (save) => {
      const n = x.shape[0];
      // A chunk holds a few temporaries of its rows: an eighth of the chunk setting each.
      const rows = rowsPerChunk(n, (32 * x.size) / n);
      const conv = (c: CompressedConv2D, w: tf.Tensor4D) => (r: tf.Tensor) =>
        tf.conv2d(r as tf.Tensor4D, w, c.strides, c.padding);
      const norm = (l: CompressedBatchNorm, t: tf.Tensor) => {
        const { mean, variance } = tensorMoments(t, rows);
        l.updateMovingStatistics(mean, variance);
        const invStd = tf.rsqrt(tf.add(variance, l.epsilon));
        return { mean, variance, st: saveExact(tf.concat([mean, invStd])) };
      };
      // The saves in the unfused layers' order (the activation stream draws in that order).
      const xs = saveQuantized(x, b.conv1.actBits);
      const c1 = conv(b.conv1, w1)(x);
      const s1 = saveQuantized(c1, b.norm1.actBits);
      const m1 = norm(b.norm1, c1);
      const h =
        normReluInPlace(c1, m1, n1, b.norm1.epsilon, null) ??
        mapRowsOwned(c1, rows, (r) =>
          tf.relu(tf.batchNorm(r, m1.mean, m1.variance, n1.beta, n1.gamma, b.norm1.epsilon)),
        );
      const a1 = saveActivationGrad('relu', h, { bits: b.relu1.actBits, fewbit: 0 });
      const hs = saveQuantized(h, b.conv2.actBits);
      // Two temporaries a chunk (its rows and their conv): a quarter of the setting each.
      const c2 = mapRowsOwned(h, rowsPerChunk(n, (16 * h.size) / n), conv(b.conv2, w2));
      // The projection conv's save of x comes before bn2's in the unfused layers' order.
      const xsp = proj ? saveQuantized(x, proj.conv.actBits) : null;
      const s2 = saveQuantized(c2, b.norm2.actBits);
      const m2 = norm(b.norm2, c2);
      // The shortcut's rows: x's, or bn(conv(x)) from two-pass statistics of recomputed rows,
      // its conv output saved a chunk at a time (after bn2's save, as unfused).
      const pRows = (first: number, count: number) => {
        const xr = sliceRows(x, first, count);
        const pr = conv((proj as NonNullable<typeof proj>).conv, wp as tf.Tensor4D)(xr);
        xr.dispose();
        return pr;
      };
      const mp = proj
        ? (() => {
            const { mean, variance } = rowMoments(n, rows, pRows);
            proj.norm.updateMovingStatistics(mean, variance);
            const invStd = tf.rsqrt(tf.add(variance, proj.norm.epsilon));
            return { mean, variance, st: saveExact(tf.concat([mean, invStd])) };
          })()
        : null;
      const sp = proj ? rowSaver(c2.shape, proj.norm.actBits) : null;
      const value =
        (proj ? null : normReluInPlace(c2, m2, n2, b.norm2.epsilon, x)) ??
        mapRowsOwned(c2, rows, (r, first) => {
          const z = tf.batchNorm(r, m2.mean, m2.variance, n2.beta, n2.gamma, b.norm2.epsilon);
          let short: tf.Tensor;
          if (proj && mp && np && sp) {
            const pr = pRows(first, r.shape[0]);
            sp.add(first, pr);
            short = tf.batchNorm(pr, mp.mean, mp.variance, np.beta, np.gamma, proj.norm.epsilon);
            pr.dispose();
          } else short = sliceRows(x, first, r.shape[0]);
          const sum = tf.add(z, short);
          tf.dispose([z, short]);
          return tf.relu(sum);
        });
      const a2 = saveActivationGrad('relu', value, { bits: b.relu2.actBits, fewbit: 0 });
      tf.dispose([m1.mean, m1.variance, m2.mean, m2.variance]);
      const projParts = xsp && mp && sp ? [xsp, sp.finish(), mp.st] : [];
      const parts = [xs, s1, m1.st, a1, hs, s2, m2.st, a2, ...projParts] as Saved<unknown>[];
      save([]);
      recordDiagnostics(b, parts, x.size);
      return {
        value,
        // Kept as made: through save, all of them would be copied at once at this point.
        held: saveList(parts),
        gradFunc: (dy, saved, freeDy, dyOwned) => {
          const [sx, ss1, st1, sa1, sh, ss2, st2, sa2, sxp, ssp, stp] = splitSaved(saved, parts);
          // dy through relu2's mask (into dy's buffer where it may).
          const ds = activationRows(a2, sa2, dy, freeDy, dyOwned);
          tf.dispose(sa2); // consumed
          const xhat = (p: Saved<tf.Tensor>, s: tf.Tensor[], st: tf.Tensor[]) => {
            const [mu, is] = tf.split(st[0], 2); // mean and 1/std (an exact save)
            return { is, rows: xhatRows(p, s, mu, is), dispose: () => tf.dispose([mu, is]) };
          };
          const x1 = xhat(s1, ss1, st1);
          const x2 = xhat(s2, ss2, st2);
          const sums2 = normSums(ds, x2.rows, n2.gamma);
          const dnorm2 = normGrad(sums2, x2.is, n2.gamma, ds.size);
          const xp = proj ? xhat(projParts[1] as Saved<tf.Tensor>, ssp, stp) : null;
          const sumsP = xp && np ? normSums(ds, xp.rows, np.gamma) : null;
          const dnormP = sumsP && xp && np ? normGrad(sumsP, xp.is, np.gamma, ds.size) : null;
          const bRows = rowsPerChunk(n, (16 * Math.max(x.size, ds.size)) / n);
          // Rows of bn2's dx through conv2's input gradient and relu1's mask (conv2's filter
          // gradient too with `withFilter`).
          const dz1Rows = (first: number, count: number, withFilter: boolean) => {
            const d = sliceRows(ds, first, count);
            const xh = x2.rows(first, count);
            const dc2 = dnorm2(d, xh) as tf.Tensor4D;
            tf.dispose([d, xh]);
            let dw2: tf.Tensor | null = null;
            if (withFilter) {
              const hr = restoreRowsOf(hs, sh, first, count) as tf.Tensor4D;
              dw2 = CONV2D_GRADS.filter(hr, dc2, w2.shape, b.conv2.strides, b.conv2.padding);
              hr.dispose();
            }
            const shape = [count, ...ds.shape.slice(1)] as [number, number, number, number];
            const dh = CONV2D_GRADS.input(dc2, w2, shape, b.conv2.strides, b.conv2.padding);
            dc2.dispose();
            const dz1 = restoreRowsOf(a1, sa1, first, count)(dh);
            if (dz1 !== dh) dh.dispose();
            return { dz1, dw2 };
          };
          // Pass 1: bn1's reductions and conv2's filter gradient.
          const axes = [0, 1, 2];
          let dg1: tf.Tensor = tf.zerosLike(n1.gamma);
          let db1: tf.Tensor = tf.zerosLike(n1.gamma);
          let dw2: tf.Tensor | null = null;
          for (let first = 0; first < n; first += bRows) {
            const count = Math.min(bRows, n - first);
            const r = dz1Rows(first, count, true);
            const xh = x1.rows(first, count);
            const next = tf.tidy(() => [
              tf.add(dg1, tf.sum(tf.mul(r.dz1, xh), axes)),
              tf.add(db1, tf.sum(r.dz1, axes)),
              dw2 === null ? (r.dw2 as tf.Tensor) : tf.add(dw2, r.dw2 as tf.Tensor),
            ]);
            tf.dispose([r.dz1, xh, dg1, db1, ...(dw2 === null ? [] : [dw2, r.dw2 as tf.Tensor])]);
            [dg1, db1, dw2] = next;
          }
          const dnorm1 = normGrad({ dgamma: dg1, dbeta: db1 }, x1.is, n1.gamma, ds.size);
          // Pass 2: the same rows again on to conv1's gradients; dx rows added into ds's buffer
          // (rows are read before they are written), which then holds the block input's gradient.
          // With a projection the block input's gradient has another shape: a new buffer.
          const acc = !proj && canOverwrite(ds) ? rowAccumulator(ds) : null;
          const fresh = acc ? null : rowWriter(x.shape);
          let dw1: tf.Tensor | null = null;
          let dwp: tf.Tensor | null = null;
          for (let first = 0; first < n; first += bRows) {
            const count = Math.min(bRows, n - first);
            const { dz1 } = dz1Rows(first, count, false);
            const xh = x1.rows(first, count);
            const dc1 = dnorm1(dz1, xh) as tf.Tensor4D;
            tf.dispose([dz1, xh]);
            const xr = restoreRowsOf(xs, sx, first, count) as tf.Tensor4D;
            const g = convChunkGrads(
              CONV2D_GRADS,
              dc1,
              xr,
              w1,
              false,
              b.conv1.strides,
              b.conv1.padding,
            );
            dc1.dispose();
            dw1 = dw1 === null ? g.params[0] : addAndFree(dw1, g.params[0]);
            if (proj && dnormP && xp) {
              // The shortcut's rows: bn's dx rows straight into the projection's gradients.
              const d = sliceRows(ds, first, count);
              const xh = xp.rows(first, count);
              const dp = dnormP(d, xh) as tf.Tensor4D;
              tf.dispose([d, xh]);
              const xr2 = restoreRowsOf(xsp as Saved<tf.Tensor>, sxp, first, count) as tf.Tensor4D;
              const gp = convChunkGrads(
                CONV2D_GRADS,
                dp,
                xr2,
                wp as tf.Tensor4D,
                false,
                proj.conv.strides,
                proj.conv.padding,
              );
              dp.dispose();
              dwp = dwp === null ? gp.params[0] : addAndFree(dwp, gp.params[0]);
              (fresh as ReturnType<typeof rowWriter>).write(first, tf.add(g.dx, gp.dx));
              tf.dispose([g.dx, gp.dx]);
            } else if (acc) acc.write(first, g.dx);
            else {
              const d = sliceRows(ds, first, count);
              (fresh as ReturnType<typeof rowWriter>).write(first, tf.add(d, g.dx));
              tf.dispose([d, g.dx]);
            }
          }
          const dx = acc ? ds : (fresh as ReturnType<typeof rowWriter>).finish();
          if (dx !== ds) ds.dispose();
          x1.dispose();
          x2.dispose();
          dnorm1.dispose();
          dnorm2.dispose();
          xp?.dispose();
          dnormP?.dispose();
          const grads = [dx, dw1, dg1, db1, dw2, sums2.dgamma, sums2.dbeta];
          return sumsP ? [...grads, dwp, sumsP.dgamma, sumsP.dbeta] : grads;
        },
      };
    });
  });
}

/**
 * relu(batchNorm(t) + add) written over t's own values in one JS pass (wasm, t not shared; `add`
 * of t's shape or null), returned as a new view of t's buffer (t is consumed); null where t's
 * buffer may not be written (the caller then maps row chunks with tf ops). Per value
 * (v - mean) * (gamma / sqrt(variance + eps)) + beta, as tf.batchNorm (up to rounding).
 */
function normReluInPlace(
  t: tf.Tensor,
  m: { mean: tf.Tensor; variance: tf.Tensor },
  n: { gamma: tf.Tensor; beta: tf.Tensor },
  epsilon: number,
  add: tf.Tensor | null,
): tf.Tensor | null {
  if (!canOverwrite(t) || heapView(t) === null) return null;
  const c = t.shape[t.rank - 1];
  const [mean, variance, gamma, beta] = [m.mean, m.variance, n.gamma, n.beta].map((v) =>
    Float32Array.from(v.dataSync()),
  );
  const scale = new Float32Array(c);
  for (let k = 0; k < c; k++) scale[k] = gamma[k] / Math.sqrt(variance[k] + epsilon);
  const out = heapView(t) as Float32Array;
  const extra = add ? (heapView(add) as Float32Array | null) : null;
  if (add && extra === null) return null;
  for (let i = 0; i < out.length; i += c)
    for (let k = 0; k < c; k++) {
      const v = (out[i + k] - mean[k]) * scale[k] + beta[k] + (extra ? extra[i + k] : 0);
      out[i + k] = Math.max(v, 0);
    }
  const view = tf.reshape(t, t.shape);
  t.dispose();
  return view;
}

function addAndFree(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const s = tf.add(a, b);
  tf.dispose([a, b]);
  return s;
}

/** `f` of `t` a chunk of rows at a time into `t`'s buffer where it may (t is consumed). */
function mapRowsOwned(
  t: tf.Tensor,
  rows: number,
  f: (r: tf.Tensor, first: number) => tf.Tensor,
): tf.Tensor {
  const n = t.shape[0];
  const over = canOverwrite(t);
  const writer = rowWriter(t.shape, over ? t : null);
  for (let first = 0; first < n; first += rows) {
    const r = sliceRows(t, first, Math.min(rows, n - first));
    const y = tf.tidy(() => f(r, first));
    r.dispose();
    writer.write(first, y);
  }
  const out = writer.finish();
  if (!over) {
    t.dispose();
    return out;
  }
  const view = tf.reshape(t, t.shape);
  t.dispose();
  return view;
}

/** The layers' diagnostics (bytes saved, bytes a float32 save would take), as unfused. */
function recordDiagnostics(b: IdentityBlock, parts: Saved<unknown>[], size: number): void {
  const [xs, s1, st1, a1, hs, s2, st2, a2, xsp, sp, stp] = parts;
  const rec = (l: { lastSavedBytes: number; lastExactBytes: number }, p: Saved<unknown>[]) => {
    l.lastSavedBytes = savedBytes(p);
    l.lastExactBytes = 4 * size;
  };
  rec(b.conv1, [xs]);
  rec(b.norm1, [s1, st1]);
  rec(b.relu1, [a1]);
  rec(b.conv2, [hs]);
  rec(b.norm2, [s2, st2]);
  rec(b.relu2, [a2]);
  if (b.projection && xsp && sp && stp) {
    rec(b.projection.conv, [xsp]);
    rec(b.projection.norm, [sp, stp]);
  }
}

/**
 * `steps` (and `uses`, readers per tensor id) with each basic residual block (a tensor read by
 * two layers only: the chain conv, batch norm, ReLU, conv, batch norm into an Add, and the Add
 * itself or a Conv2D and BatchNorm into it; the Add read only by a ReLU, every link read once,
 * fusable) replaced by one step that runs `identityBlock` where the last ReLU ran. The block
 * input is then read once.
 */
export function fuseIdentityBlocks(
  steps: ForwardStep[],
  uses: Map<number, number>,
): { steps: ForwardStep[]; uses: Map<number, number> } {
  const producer = new Map<number, ForwardStep>();
  for (const s of steps) for (const id of s.outs) producer.set(id, s);
  const once = (id: number) => uses.get(id) === 1;
  const is = (s: ForwardStep | undefined, name: string): s is ForwardStep =>
    s?.layer.getClassName() === name && s.ins.length === 1 && once(s.outs[0]);
  const out = new Map(uses);
  const removed = new Set<ForwardStep>();
  const replaced = new Map<ForwardStep, ForwardStep>();
  for (const relu2 of steps) {
    if (relu2.layer.getClassName() !== 'FrugalCompressedActivation' || relu2.ins.length !== 1)
      continue;
    const add = producer.get(relu2.ins[0]);
    if (add?.layer.getClassName() !== 'FrugalNoSaveAdd' || add.ins.length !== 2) continue;
    if (!once(relu2.ins[0])) continue;
    for (const k of [0, 1]) {
      // The shortcut: the block input itself, or bn(conv(block input)).
      const other = add.ins[1 - k];
      const pNorm = producer.get(other);
      const pConv = is(pNorm, 'FrugalCompressedBatchNorm') ? producer.get(pNorm.ins[0]) : undefined;
      const projected = is(pConv, 'FrugalCompressedConv2D') && once(other);
      const xId = projected && pConv ? pConv.ins[0] : other;
      const chain: ForwardStep[] = [];
      let id = add.ins[k];
      for (const name of [
        'FrugalCompressedBatchNorm',
        'FrugalCompressedConv2D',
        'FrugalCompressedActivation',
        'FrugalCompressedBatchNorm',
        'FrugalCompressedConv2D',
      ]) {
        const s = producer.get(id);
        if (!is(s, name)) break;
        chain.unshift(s);
        id = s.ins[0];
      }
      if (chain.length !== 5 || id !== xId || uses.get(xId) !== 2) continue;
      const [conv1, norm1, relu1, conv2, norm2] = chain.map((s) => s.layer);
      const block = {
        conv1,
        norm1,
        relu1,
        conv2,
        norm2,
        relu2: relu2.layer,
        ...(projected && pConv && pNorm
          ? { projection: { conv: pConv.layer, norm: pNorm.layer } }
          : {}),
      } as unknown as IdentityBlock;
      if (identityBlockUnfusable(block) !== null) continue;
      for (const s of [...chain, add]) removed.add(s);
      if (projected && pConv && pNorm) for (const s of [pConv, pNorm]) removed.add(s);
      out.set(xId, 1);
      replaced.set(relu2, {
        layer: relu2.layer,
        ins: [xId],
        outs: relu2.outs,
        // The fused op reads the layers' bits when it runs (mixed precision changes them).
        train: (args) =>
          identityBlockUnfusable(block, args[0].shape[3]) === null
            ? identityBlock(block, args[0] as tf.Tensor4D)
            : unfusedBlock(
                chain,
                projected && pConv && pNorm ? [pConv, pNorm] : [],
                add.layer,
                relu2.layer,
                args[0],
              ),
      });
      break;
    }
  }
  return {
    steps: steps.filter((s) => !removed.has(s)).map((s) => replaced.get(s) ?? s),
    uses: out,
  };
}

/** The block's layers one after another (a layer's settings changed since the plan was made). */
function unfusedBlock(
  chain: ForwardStep[],
  shortcut: ForwardStep[],
  add: tf.layers.Layer,
  relu: tf.layers.Layer,
  x: tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => {
    const training = { training: true };
    const through = (steps: ForwardStep[]) =>
      steps.reduce((y, s) => s.layer.apply(y, training) as tf.Tensor, x);
    return relu.apply(
      add.apply([through(chain), through(shortcut)], training),
      training,
    ) as tf.Tensor;
  });
}

// Neural ODEs: activation memory of backprop vs the adjoint and IRDM, IRDM's gradient error and
// speed against the adjoint at matched error, and odenet on MNIST (accuracy, FGSM/PGD robustness
// with and without solver smoothing, accuracy against stronger test-time solvers), in one run.
// Run: npm run bench:ode   (writes bench/results/ode.json; quick mode, ~6 min on 2 cores)
//      npm run bench:ode -- --full   (longer MNIST training: the accuracy target; the JSON says which mode)
// MNIST sizes (env): ODE_BENCH_EPOCHS (quick 3, full 10), ODE_BENCH_LR (3e-3, cosine decay),
// ODE_BENCH_TRAIN (8000), ODE_BENCH_TEST (2000: the rest of the 10,000 digits the mnist package
// ships), ODE_BENCH_ATTACK (test samples attacked; quick 1000, full all), ODE_BENCH_CHANNELS (quick 16, full 32),
// ODE_BENCH_SOLVER_STEPS (rk2 steps, 2), ODE_BENCH_GRAD (backprop | adjoint | irdm; backprop),
// ODE_BENCH_SHIFT (px of random shift, 2), ODE_BENCH_BATCH (64), ODE_BENCH_VARIANTS (fixed,smoothed).
import * as tf from '@tensorflow/tfjs';
import { renderTable } from '../src/cli/table.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { makeRng } from '../src/engine/random.js';
import { writeJsonAtomic } from '../src/io/atomic-write.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildOdenet } from '../src/models/odenet.js';
import type { ParamOdeFn } from '../src/ode/adjoint-backward.js';
import { withSolve } from '../src/ode/ode-block.js';
import { makeOdeFunc, odeFuncWeights } from '../src/ode/ode-func.js';
import { accuracyBySolver, robustCorrect } from '../src/ode/robustness.js';
import {
  ODE_GRADIENTS,
  type OdeGradient,
  odeSolve,
  validateSolveConfig,
} from '../src/ode/solve.js';
import { augmentImages } from '../src/recipes/batch-augment.js';
import { fixed, mb, pct, ratio } from '../src/report/format.js';
import { measureStep } from '../src/report/memory-meter.js';
import { type PairedAccuracy, pairedAccuracy } from '../src/report/paired-accuracy.js';
import { train } from '../src/train/loop.js';
import { envNumber, hasFlag } from './lib/args.js';

const FULL = hasFlag('full');
const EPOCHS = envNumber('ODE_BENCH_EPOCHS', FULL ? 10 : 3);
const LR = envNumber('ODE_BENCH_LR', 3e-3);
const TRAIN = envNumber('ODE_BENCH_TRAIN', 8000);
const TEST = envNumber('ODE_BENCH_TEST', 2000);
const ATTACK = envNumber('ODE_BENCH_ATTACK', FULL ? TEST : 1000);
const CHANNELS = envNumber('ODE_BENCH_CHANNELS', FULL ? 32 : 16);
const TRAIN_STEPS = envNumber('ODE_BENCH_SOLVER_STEPS', 2);
const SHIFT = envNumber('ODE_BENCH_SHIFT', 2);
const BATCH = envNumber('ODE_BENCH_BATCH', 64);
const GRADIENT = (process.env.ODE_BENCH_GRAD ?? 'backprop') as OdeGradient;
if (!(ODE_GRADIENTS as readonly string[]).includes(GRADIENT))
  throw new Error(`ODE_BENCH_GRAD must be one of ${ODE_GRADIENTS.join(', ')}, got '${GRADIENT}'`);
const ONLY = process.env.ODE_BENCH_ONLY;
const BACKEND = 'wasm';
const started = performance.now();
const engine = await initEngine({ backend: BACKEND, seed: 0 });
useFastKernels();

// 1. Activation memory of one training step through a conv ODE block (f: two 3x3 convs with a
// time channel, layer norm) on z of shape [32, 7, 7, 16] (odenet's block on MNIST), rk4.
const memoryRows: Record<string, unknown>[] = [];
const MEM_STEPS = [4, 8, 16, 32];
if (!ONLY || ONLY === 'memory') {
  const spec = {
    kind: 'conv' as const,
    channels: 16,
    hidden: 16,
    norm: 'layer' as const,
    activation: 'relu' as const,
  };
  const f = makeOdeFunc(spec);
  const params = odeFuncWeights(spec).map((w, i) =>
    tf.variable(
      w.init === 'glorot'
        ? tf.randomNormal(w.shape, 0, 0.1, 'float32', i)
        : w.init === 'zeros'
          ? tf.zeros(w.shape)
          : tf.ones(w.shape),
    ),
  );
  const z0 = tf.randomNormal([32, 7, 7, 16], 0, 1, 'float32', 99);
  const opt = tf.train.sgd(1e-3);
  for (const gradient of ['backprop', 'adjoint', 'irdm'] as const) {
    for (const steps of MEM_STEPS) {
      const config = validateSolveConfig({ solver: 'rk4', steps, gradient, nodes: 8 });
      const t0 = performance.now();
      const r = await measureStep({
        variables: params,
        weights: params,
        optimizer: opt,
        inputs: [z0],
        run: (mark) =>
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => {
              const l = tf.mean(tf.square(odeSolve(f, z0, params, config))) as tf.Scalar;
              mark();
              return l;
            }, params);
            opt.applyGradients(grads);
            return value;
          }),
      });
      memoryRows.push({
        gradient,
        steps,
        savedActivationBytes: r.memory.savedActivationBytes,
        activationBytes: r.memory.activationBytes,
        peakBytes: r.memory.peakBytes,
        stepMs: performance.now() - t0,
      });
    }
  }
  tf.dispose([...params, z0]);
  opt.dispose();
  console.log(
    renderTable(
      ['gradient', 'steps', 'saved act MB', 'act MB', 'peak MB', 'step ms'],
      memoryRows.map((r) => [
        r.gradient as string,
        r.steps as number,
        mb(r.savedActivationBytes as number),
        mb(r.activationBytes as number),
        mb(r.peakBytes as number),
        fixed(r.stepMs as number, 0),
      ]),
    ),
  );
}
const memAt = (g: OdeGradient, steps: number, key = 'activationBytes') =>
  (memoryRows.find((r) => r.gradient === g && r.steps === steps)?.[key] as number) ?? Number.NaN;

// 2. Gradient error against backprop through a fine solve (rk4, 512 steps), and time of one
// forward + backward, for the adjoint and IRDM at several step counts. The test problem is a
// strongly contracting dense ODE, dz/dt = tanh(z W1 + t) W2 - K z (z: [64, 32], hidden 64), the
// case where the adjoint's backward re-solve of z is unstable (errors grow like e^{K T}).
const K = envNumber('ODE_BENCH_K', 8);
const IRDM_NODES = envNumber('ODE_BENCH_NODES', 12);
const GRAD_STEPS = [4, 8, 16, 32, 64];
const TARGET = 0.01;
const gradRows: Record<string, unknown>[] = [];
const HEADLINE_STEPS = 16;
let irdmGradRelError = Number.NaN;
let irdmGradRelError8 = Number.NaN;
let irdmSpeedup: number | null = null;
let matched: Record<string, unknown> = {};
if (!ONLY || ONLY === 'irdm') {
  const f: ParamOdeFn = (t, z, [w1, w2]) =>
    tf.tidy(() => tf.sub(tf.matMul(tf.tanh(tf.add(tf.matMul(z, w1), t)), w2), tf.mul(z, K)));
  const z0 = tf.randomNormal([64, 32], 0, 1, 'float32', 1);
  const w1 = tf.randomNormal([32, 64], 0, 0.4, 'float32', 2);
  const w2 = tf.randomNormal([64, 32], 0, 0.4, 'float32', 3);
  const probe = tf.randomNormal([64, 32], 0, 1, 'float32', 4);
  const gradsOf = (gradient: OdeGradient, steps: number) => {
    const config = validateSolveConfig({ solver: 'rk4', steps, gradient, nodes: IRDM_NODES });
    const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(odeSolve(f, a, [b, c], config), probe)),
    )([z0, w1, w2]);
    const flat = tf.tidy(() => tf.concat(gs.map((g) => g.flatten())));
    tf.dispose(gs);
    return flat;
  };
  const ref = gradsOf('backprop', 512);
  const refNorm = tf.norm(ref).dataSync()[0];
  const relErr = (g: tf.Tensor) => tf.tidy(() => tf.norm(tf.sub(g, ref)).dataSync()[0] / refNorm);
  for (const gradient of ['adjoint', 'irdm', 'backprop'] as const) {
    for (const steps of GRAD_STEPS) {
      const g0 = gradsOf(gradient, steps); // warm-up, and the error
      const error = relErr(g0);
      g0.dispose();
      const times: number[] = [];
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now();
        const g = gradsOf(gradient, steps);
        g.dataSync();
        times.push(performance.now() - t0);
        g.dispose();
      }
      times.sort((a, b) => a - b);
      gradRows.push({
        gradient,
        steps,
        relError: error,
        ms: times[1],
        msPerStep: times[1] / steps,
      });
    }
  }
  tf.dispose([z0, w1, w2, probe, ref]);
  console.log(
    renderTable(
      ['gradient', 'steps', 'rel. error vs fine backprop', 'ms (fwd+bwd)', 'ms/step'],
      gradRows.map((r) => [
        r.gradient as string,
        r.steps as number,
        (r.relError as number).toExponential(2),
        fixed(r.ms as number, 0),
        fixed(r.msPerStep as number, 1),
      ]),
    ),
  );
  const irdmAt = (steps: number) =>
    (gradRows.find((r) => r.gradient === 'irdm' && r.steps === steps)?.relError as number) ??
    Number.NaN;
  irdmGradRelError = irdmAt(HEADLINE_STEPS);
  irdmGradRelError8 = irdmAt(8);
  // Matched error: the cheapest configuration of each method that reaches TARGET.
  const cheapest = (g: OdeGradient) =>
    gradRows
      .filter((r) => r.gradient === g && (r.relError as number) <= TARGET)
      .sort((a, b) => (a.ms as number) - (b.ms as number))[0];
  const a = cheapest('adjoint');
  const i = cheapest('irdm');
  matched = { target: TARGET, adjoint: a ?? null, irdm: i ?? null };
  if (a && i) irdmSpeedup = (a.ms as number) / (i.ms as number);
}

// 3. odenet on MNIST: one model with a fixed solver (rk2, u = 0.5) and one with solver
// smoothing (u ~ U[0.3, 0.7] per batch), same seed, data, augmentation and schedule (Adam, cosine
// learning-rate decay per step, +-2 px random shifts). Clean accuracy on the whole held-out split;
// FGSM and PGD accuracy (eps 0.1; PGD 10 steps of 0.025, random start) on the same test samples
// with the same random starts for both models (a paired comparison: McNemar's exact test and a
// 95% interval of the difference over test samples); clean accuracy with the training solver at
// 1x, 2x and 4x the steps (the meta-solver criterion).
const EPS = 0.1;
const mnistRows: Record<string, unknown>[] = [];
let pgdPaired: PairedAccuracy | null = null;
let fgsmPaired: PairedAccuracy | null = null;
if (!ONLY || ONLY === 'mnist') {
  const data = loadMnist({ trainCount: TRAIN, testCount: TEST, seed: 1, layout: 'image' });
  const variants = (process.env.ODE_BENCH_VARIANTS ?? 'fixed,smoothed').split(',');
  const correct: Record<string, { pgd: Uint8Array; fgsm: Uint8Array }> = {};
  for (const variant of variants) {
    if (variant !== 'fixed' && variant !== 'smoothed')
      throw new Error(`ODE_BENCH_VARIANTS: unknown variant '${variant}' (fixed, smoothed)`);
    const model = buildOdenet({
      inputShape: [28, 28, 1],
      numClasses: 10,
      channels: CHANNELS,
      seed: 3,
      solve: {
        solver: 'rk2',
        steps: TRAIN_STEPS,
        gradient: GRADIENT,
        ...(variant === 'fixed' ? { u: 0.5 } : {}),
      },
      smoothing: variant === 'smoothed' ? { low: 0.3, high: 0.7 } : null,
    });
    const t0 = performance.now();
    const optimizer = tf.train.adam(LR);
    const totalSteps = EPOCHS * Math.ceil(TRAIN / BATCH);
    let step = 0;
    const shiftRng = makeRng(11);
    const r = await train(
      model,
      data,
      { epochs: EPOCHS, batchSize: BATCH, learningRate: LR, seed: 5, measureMemory: false },
      {
        optimizer,
        batchPlan:
          SHIFT > 0
            ? {
                transform: (b) => ({
                  ...b,
                  xs: augmentImages(
                    b.xs as tf.Tensor4D,
                    { shift: SHIFT, cutout: 0, flip: false },
                    shiftRng,
                  ),
                  ys: b.ys.clone(),
                }),
              }
            : undefined,
        callbacks: {
          // Cosine decay from LR to 0 over the run, set before each step.
          onBatchBegin: () => {
            (optimizer as unknown as { learningRate: number }).learningRate =
              LR * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps));
            step++;
          },
          onEpochEnd: (e, logs) =>
            console.log(
              `${variant}: epoch ${e + 1} loss ${logs.loss.toFixed(4)} test ${pct(logs.val_acc)} (${fixed(logs.seconds, 0)} s)`,
            ),
        },
      },
    );
    optimizer.dispose();
    const trainSeconds = (performance.now() - t0) / 1000;
    const evalU = variant === 'fixed' ? {} : { u: 0.5 };
    const attack = { count: ATTACK, batchSize: 100 };
    const fgsmC = withSolve(model, evalU, () =>
      robustCorrect(model, data, { attack: 'fgsm', eps: EPS, ...attack }),
    );
    const pgdC = withSolve(model, evalU, () =>
      robustCorrect(model, data, {
        attack: 'pgd',
        eps: EPS,
        pgd: { steps: 10, stepSize: 0.025, seed: 7 },
        ...attack,
      }),
    );
    correct[variant] = { pgd: pgdC, fgsm: fgsmC };
    const meanOf = (c: Uint8Array) => c.reduce((x, y) => x + y, 0) / c.length;
    const bySteps = accuracyBySolver(
      model,
      data,
      [1, 2, 4].map((k) => ({ ...evalU, steps: TRAIN_STEPS * k })),
      { attack: 'none' },
    ).map((x) => ({ steps: x.solve.steps, accuracy: x.accuracy }));
    const byU = accuracyBySolver(
      model,
      data,
      [0.3, 0.5, 0.7, 1].map((u) => ({ u })),
      { attack: 'none' },
    ).map((x) => ({ u: x.solve.u, accuracy: x.accuracy }));
    mnistRows.push({
      variant,
      parameters: model.countParams(),
      testAccuracy: r.testAccuracy,
      history: r.history,
      meanStepMs: r.meanStepMs,
      trainSeconds,
      fgsmAccuracy: meanOf(fgsmC),
      pgdAccuracy: meanOf(pgdC),
      accuracyByTestSteps: bySteps,
      accuracyByTestU: byU,
      strongerSolverDoesNotHurt: bySteps.every((x) => x.accuracy >= bySteps[0].accuracy - 0.002),
    });
    model.dispose();
  }
  if (correct.fixed && correct.smoothed) {
    pgdPaired = pairedAccuracy(correct.smoothed.pgd, correct.fixed.pgd);
    fgsmPaired = pairedAccuracy(correct.smoothed.fgsm, correct.fixed.fgsm);
  }
  console.log(
    renderTable(
      ['model', 'params', 'test acc', 'FGSM acc', 'PGD acc', 'acc 1x/2x/4x steps', 'step ms'],
      mnistRows.map((r) => [
        `odenet (${r.variant})`,
        r.parameters as number,
        pct(r.testAccuracy as number),
        pct(r.fgsmAccuracy as number),
        pct(r.pgdAccuracy as number),
        (r.accuracyByTestSteps as { accuracy: number }[]).map((x) => pct(x.accuracy)).join(' / '),
        fixed(r.meanStepMs as number, 0),
      ]),
    ),
  );
  if (pgdPaired)
    console.log(
      `PGD smoothed - fixed on the same ${pgdPaired.samples} samples: ${fixed(100 * pgdPaired.difference, 2)} pt, ` +
        `95% CI [${fixed(100 * pgdPaired.ci95[0], 2)}, ${fixed(100 * pgdPaired.ci95[1], 2)}], ` +
        `only smoothed right ${pgdPaired.onlyA}, only fixed ${pgdPaired.onlyB}, McNemar p ${pgdPaired.mcnemarP.toPrecision(3)}`,
    );
}

const fixedRow = mnistRows.find((r) => r.variant === 'fixed');
const smoothRow = mnistRows.find((r) => r.variant === 'smoothed');
const headline = {
  adjointMemoryRatio: memAt('backprop', 32) / memAt('adjoint', 32),
  irdmMemoryRatio: memAt('backprop', 32) / memAt('irdm', 32),
  adjointActivationGrowth4to32: memAt('adjoint', 32) / memAt('adjoint', 4),
  irdmActivationGrowth4to32: memAt('irdm', 32) / memAt('irdm', 4),
  irdmGradRelError,
  irdmGradRelError8Steps: irdmGradRelError8,
  irdmSpeedup,
  odenetAccuracy: (fixedRow?.testAccuracy as number) ?? null,
  odenetAccuracySmoothed: (smoothRow?.testAccuracy as number) ?? null,
  pgdAccSmoothed: (smoothRow?.pgdAccuracy as number) ?? null,
  pgdAccFixed: (fixedRow?.pgdAccuracy as number) ?? null,
  // Paired over the same attacked test samples (same PGD random starts): smoothed - fixed.
  pgdSmoothedMinusFixed: pgdPaired?.difference ?? null,
  pgdDiffCi95Low: pgdPaired?.ci95[0] ?? null,
  pgdDiffCi95High: pgdPaired?.ci95[1] ?? null,
  pgdMcnemarP: pgdPaired?.mcnemarP ?? null,
  pgdSamples: pgdPaired?.samples ?? null,
};
console.log(
  `adjoint memory ratio (backprop/adjoint activation bytes, 32 rk4 steps): ${ratio(headline.adjointMemoryRatio)}`,
);
console.log(
  `IRDM gradient relative error (${HEADLINE_STEPS} rk4 steps, ${IRDM_NODES} nodes): ${irdmGradRelError.toExponential(2)}; speedup at error <= ${TARGET}: ${irdmSpeedup === null ? 'n/a' : ratio(irdmSpeedup)}`,
);
const out = {
  bench: 'ode',
  mode: FULL ? 'full' : 'quick',
  backend: engine.backend,
  date: new Date().toISOString(),
  seconds: (performance.now() - started) / 1000,
  headline,
  setup: {
    memory:
      'one training step through a conv ODE block (two 3x3 convs + time channel + layer norm) on z [32, 7, 7, 16], rk4; activationBytes = step peak minus weights, gradients, optimizer state and inputs',
    irdm: {
      problem: `dz/dt = tanh(z W1 + t) W2 - ${K} z, z [64, 32], hidden 64, t in [0, 1]`,
      solver: 'rk4',
      nodes: IRDM_NODES,
      reference: 'backprop through rk4 with 512 steps',
      headlineSteps: HEADLINE_STEPS,
      target: TARGET,
    },
    mnist: {
      train: TRAIN,
      test: TEST,
      attacked: ATTACK,
      split: 'disjoint seeded split of the 10,000 digits of the mnist package (seed 1)',
      epochs: EPOCHS,
      batch: BATCH,
      optimizer: 'adam',
      lr: `${LR}, cosine decay to 0 over the run (per step)`,
      augmentation: SHIFT > 0 ? `random shift of up to ${SHIFT} px (zero padding)` : 'none',
      channels: CHANNELS,
      solver: 'rk2',
      trainSteps: TRAIN_STEPS,
      gradient: GRADIENT,
      fixedU: 0.5,
      smoothing: [0.3, 0.7],
      eps: EPS,
      pgd: { steps: 10, stepSize: 0.025, randomStart: true },
    },
  },
  memory: memoryRows,
  gradients: gradRows,
  matchedError: matched,
  mnist: mnistRows,
  pairedRobustness: { pgd: pgdPaired, fgsm: fgsmPaired, a: 'smoothed', b: 'fixed' },
};
if (!ONLY) writeJsonAtomic('bench/results/ode.json', out);
else console.log(JSON.stringify(out.headline));

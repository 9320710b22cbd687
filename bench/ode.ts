// Neural ODEs: activation memory of backprop vs the adjoint and IRDM, IRDM's gradient error and
// speed against the adjoint at matched error, and odenet on MNIST (accuracy, FGSM/PGD robustness
// with and without solver smoothing, accuracy against stronger test-time solvers), in one run.
// Run: npm run bench:ode   (writes bench/results/ode.json)
// Sizes: ODE_BENCH_EPOCHS (default 4), ODE_BENCH_LR (3e-3, halved each epoch), ODE_BENCH_TRAIN (8000), ODE_BENCH_TEST (2000),
// ODE_BENCH_ATTACK (500 test samples attacked), ODE_BENCH_CHANNELS (16).
import * as tf from '@tensorflow/tfjs';
import { renderTable } from '../src/cli/table.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { writeJsonAtomic } from '../src/io/atomic-write.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildOdenet } from '../src/models/odenet.js';
import type { ParamOdeFn } from '../src/ode/adjoint-backward.js';
import { makeOdeFunc, odeFuncWeights } from '../src/ode/ode-func.js';
import { accuracyBySolver } from '../src/ode/robustness.js';
import { type OdeGradient, odeSolve, validateSolveConfig } from '../src/ode/solve.js';
import { fixed, mb, pct, ratio } from '../src/report/format.js';
import { measureStep } from '../src/report/memory-meter.js';
import { train } from '../src/train/loop.js';

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const EPOCHS = env('ODE_BENCH_EPOCHS', 4);
const LR = env('ODE_BENCH_LR', 3e-3);
const TRAIN = env('ODE_BENCH_TRAIN', 8000);
const TEST = env('ODE_BENCH_TEST', 2000);
const ATTACK = env('ODE_BENCH_ATTACK', 500);
const CHANNELS = env('ODE_BENCH_CHANNELS', 16);
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
const K = env('ODE_BENCH_K', 8);
const IRDM_NODES = env('ODE_BENCH_NODES', 12);
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
// smoothing (u ~ U[0.3, 0.7] per batch), same seed, data and schedule. Clean accuracy, FGSM and
// PGD accuracy (eps 0.1; PGD 10 steps of 0.025, random start), and clean accuracy with the
// training solver at 1x, 2x and 4x the steps (the meta-solver criterion).
const EPS = 0.1;
const TRAIN_STEPS = 4;
const mnistRows: Record<string, unknown>[] = [];
if (!ONLY || ONLY === 'mnist') {
  const data = loadMnist({ trainCount: TRAIN, testCount: TEST, seed: 1, layout: 'image' });
  for (const variant of ['fixed', 'smoothed'] as const) {
    const model = buildOdenet({
      inputShape: [28, 28, 1],
      numClasses: 10,
      channels: CHANNELS,
      seed: 3,
      solve: {
        solver: 'rk2',
        steps: TRAIN_STEPS,
        gradient: 'adjoint',
        ...(variant === 'fixed' ? { u: 0.5 } : {}),
      },
      smoothing: variant === 'smoothed' ? { low: 0.3, high: 0.7 } : null,
    });
    const t0 = performance.now();
    // Adam, learning rate LR halved after each epoch (one optimizer across epochs).
    const optimizer = tf.train.adam(LR);
    const history: { epoch: number; meanLoss: number; testAccuracy: number; seconds: number }[] =
      [];
    let stepMsSum = 0;
    for (let epoch = 1; epoch <= EPOCHS; epoch++) {
      (optimizer as unknown as { learningRate: number }).learningRate = LR * 0.5 ** (epoch - 1);
      const r = await train(
        model,
        data,
        { epochs: 1, batchSize: 64, learningRate: LR, seed: 5 + epoch, measureMemory: false },
        { optimizer },
      );
      history.push({ ...r.history[0], epoch });
      stepMsSum += r.meanStepMs;
      console.log(
        `${variant}: epoch ${epoch} loss ${r.history[0].meanLoss.toFixed(4)} test ${pct(r.testAccuracy)}`,
      );
    }
    optimizer.dispose();
    const result = {
      testAccuracy: history[history.length - 1].testAccuracy,
      history,
      meanStepMs: stepMsSum / EPOCHS,
    };
    const trainSeconds = (performance.now() - t0) / 1000;
    const evalU = variant === 'fixed' ? {} : { u: 0.5 };
    const attack = { count: ATTACK, batchSize: 100 };
    const fgsmAcc = accuracyBySolver(model, data, [evalU], {
      attack: 'fgsm',
      eps: EPS,
      ...attack,
    })[0].accuracy;
    const pgdAcc = accuracyBySolver(model, data, [evalU], {
      attack: 'pgd',
      eps: EPS,
      pgd: { steps: 10, stepSize: 0.025, seed: 7 },
      ...attack,
    })[0].accuracy;
    const pgdAccHalfEps = accuracyBySolver(model, data, [evalU], {
      attack: 'pgd',
      eps: EPS / 2,
      pgd: { steps: 10, stepSize: 0.0125, seed: 7 },
      ...attack,
    })[0].accuracy;
    const bySteps = accuracyBySolver(
      model,
      data,
      [1, 2, 4].map((k) => ({ ...evalU, steps: TRAIN_STEPS * k })),
      { attack: 'none' },
    ).map((r) => ({ steps: r.solve.steps, accuracy: r.accuracy }));
    const byU = accuracyBySolver(
      model,
      data,
      [0.3, 0.5, 0.7, 1].map((u) => ({ u })),
      { attack: 'none' },
    ).map((r) => ({ u: r.solve.u, accuracy: r.accuracy }));
    mnistRows.push({
      variant,
      parameters: model.countParams(),
      testAccuracy: result.testAccuracy,
      history: result.history,
      meanStepMs: result.meanStepMs,
      trainSeconds,
      fgsmAccuracy: fgsmAcc,
      pgdAccuracy: pgdAcc,
      pgdAccuracyHalfEps: pgdAccHalfEps,
      accuracyByTestSteps: bySteps,
      accuracyByTestU: byU,
      strongerSolverDoesNotHurt: bySteps.every((r) => r.accuracy >= bySteps[0].accuracy - 0.002),
    });
    model.dispose();
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
};
console.log(
  `adjoint memory ratio (backprop/adjoint activation bytes, 32 rk4 steps): ${ratio(headline.adjointMemoryRatio)}`,
);
console.log(
  `IRDM gradient relative error (${HEADLINE_STEPS} rk4 steps, ${IRDM_NODES} nodes): ${irdmGradRelError.toExponential(2)}; speedup at error <= ${TARGET}: ${irdmSpeedup === null ? 'n/a' : ratio(irdmSpeedup)}`,
);
const out = {
  bench: 'ode',
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
      epochs: EPOCHS,
      batch: 64,
      lr: `${LR}, halved after each epoch`,
      channels: CHANNELS,
      solver: 'rk2',
      trainSteps: TRAIN_STEPS,
      gradient: 'adjoint',
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
};
if (!ONLY) writeJsonAtomic('bench/results/ode.json', out);
else console.log(JSON.stringify(out.headline));

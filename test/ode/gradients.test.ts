import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { ParamOdeFn } from '../../src/ode/adjoint-backward.js';
import { type OdeGradient, odeSolve, validateSolveConfig } from '../../src/ode/solve.js';
import { measureStep } from '../../src/report/memory-meter.js';
import { relativeL2Error, useBackend } from '../helpers.js';

// z' = lambda * z + beta (elementwise): z(T) = e^{lT} z0 + beta (e^{lT} - 1) / l.
const linear: ParamOdeFn = (_t, z, [lam, beta]) => tf.add(tf.mul(lam, z), beta);
const T = 1.2;
const Z0 = [1, -0.5, 2];
const LAM = [-0.7, 0.4, -1.5];
const BETA = [0.3, -0.2, 0.5];
const W = [1, 2, -1];

/** Exact gradients of L = sum(w * z(T)) by z0, lambda and beta. */
function exactLinear(): number[][] {
  const dz0: number[] = [];
  const dl: number[] = [];
  const db: number[] = [];
  for (let i = 0; i < 3; i++) {
    const e = Math.exp(LAM[i] * T);
    dz0.push(W[i] * e);
    db.push((W[i] * (e - 1)) / LAM[i]);
    dl.push(W[i] * (T * e * Z0[i] + BETA[i] * ((T * e) / LAM[i] - (e - 1) / LAM[i] ** 2)));
  }
  return [dz0, dl, db];
}

function gradsOf(
  f: ParamOdeFn,
  gradient: OdeGradient,
  inputs: tf.Tensor[],
  extra: Partial<Parameters<typeof validateSolveConfig>[0]> = {},
): tf.Tensor[] {
  const config = validateSolveConfig({ solver: 'rk4', t1: T, steps: 12, gradient, ...extra });
  const w = tf.tensor1d(W.slice(0, inputs[0].shape[inputs[0].rank - 1]));
  const gs = tf.grads((z0: tf.Tensor, ...ps: tf.Tensor[]) =>
    tf.sum(tf.mul(odeSolve(f, z0, ps, config), w)),
  )(inputs);
  w.dispose();
  return gs;
}

/** A small non-linear f: tanh(z W1 + t) W2 with params [W1, W2]. */
const mlp: ParamOdeFn = (t, z, [w1, w2]) =>
  tf.tidy(() => tf.matMul(tf.tanh(tf.add(tf.matMul(z, w1), t)), w2));

describe('ODE gradients: backprop, adjoint, IRDM', () => {
  it('all three match the exact gradient of a linear ODE (and the gradient can be taken twice)', async () => {
    await useBackend('cpu');
    const exact = exactLinear();
    const inputs = [tf.tensor1d(Z0), tf.tensor1d(LAM), tf.tensor1d(BETA)];
    for (const g of ['backprop', 'adjoint', 'irdm'] as const) {
      for (let repeat = 0; repeat < 2; repeat++) {
        const gs = gradsOf(linear, g, inputs, { nodes: 10 });
        gs.forEach((x, k) => {
          const e = relativeL2Error(x.dataSync(), exact[k]);
          assert.ok(e < 2e-4, `${g}: input ${k} relative error ${e}`);
        });
        tf.dispose(gs);
      }
    }
    tf.dispose(inputs);
  });

  it('adjoint and IRDM agree with backprop through a fine solve on a non-linear f', async () => {
    await useBackend('cpu');
    const z0 = tf.randomNormal([4, 3], 0, 1, 'float32', 1);
    const w1 = tf.randomNormal([3, 5], 0, 0.7, 'float32', 2);
    const w2 = tf.randomNormal([5, 3], 0, 0.7, 'float32', 3);
    const ref = gradsOf(mlp, 'backprop', [z0, w1, w2], { steps: 64 });
    for (const g of ['adjoint', 'irdm'] as const) {
      const gs = gradsOf(mlp, g, [z0, w1, w2], { steps: 16, nodes: 10 });
      gs.forEach((x, k) => {
        const e = relativeL2Error(x.dataSync(), ref[k].dataSync());
        assert.ok(e < 1e-3, `${g}: input ${k} relative error ${e}`);
      });
      tf.dispose(gs);
    }
    // With only 2 nodes IRDM interpolates z linearly: the error must show (the test can fail).
    const coarse = gradsOf(mlp, 'irdm', [z0, w1, w2], { steps: 16, nodes: 2 });
    assert.ok(relativeL2Error(coarse[1].dataSync(), ref[1].dataSync()) > 1e-3);
    tf.dispose([...coarse, ...ref, z0, w1, w2]);
  });

  it('the adjoint and IRDM forward values are the plain solve (side steps to the nodes do not change it)', async () => {
    await useBackend('cpu');
    const z0 = tf.randomNormal([4, 3], 0, 1, 'float32', 1);
    const w1 = tf.randomNormal([3, 5], 0, 0.7, 'float32', 2);
    const w2 = tf.randomNormal([5, 3], 0, 0.7, 'float32', 3);
    const out = (gradient: OdeGradient) =>
      odeSolve(
        mlp,
        z0,
        [w1, w2],
        validateSolveConfig({ solver: 'rk3', steps: 7, gradient, nodes: 9 }),
      );
    const [a, b, c] = [out('backprop'), out('adjoint'), out('irdm')];
    assert.deepEqual(b.dataSync(), a.dataSync());
    assert.deepEqual(c.dataSync(), a.dataSync());
    tf.dispose([z0, w1, w2, a, b, c]);
  });

  it('leaves no tensors behind, with or without a tape', async () => {
    await useBackend('cpu');
    const inputs = [tf.tensor1d(Z0), tf.tensor1d(LAM), tf.tensor1d(BETA)];
    for (const g of ['backprop', 'adjoint', 'irdm'] as const) {
      const config = validateSolveConfig({ t1: T, steps: 5, gradient: g });
      tf.dispose(gradsOf(linear, g, inputs));
      const before = tf.memory().numTensors;
      tf.dispose(gradsOf(linear, g, inputs));
      odeSolve(linear, inputs[0], inputs.slice(1), config).dispose();
      assert.equal(tf.memory().numTensors, before, g);
    }
    tf.dispose(inputs);
  });

  it('the memory meter shows adjoint and IRDM flat in the step count, backprop growing', async () => {
    await useBackend('cpu');
    const z0 = tf.randomNormal([64, 16], 0, 1, 'float32', 4);
    const w1 = tf.variable(tf.randomNormal([16, 32], 0, 0.3, 'float32', 5));
    const w2 = tf.variable(tf.randomNormal([32, 16], 0, 0.3, 'float32', 6));
    const opt = tf.train.sgd(0.01);
    const saved = async (gradient: OdeGradient, steps: number) => {
      const config = validateSolveConfig({ steps, gradient, nodes: 6 });
      const r = await measureStep({
        variables: [w1, w2],
        weights: [w1, w2],
        optimizer: opt,
        inputs: [z0],
        run: (mark) =>
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => {
              const l = tf.mean(tf.square(odeSolve(mlp, z0, [w1, w2], config))) as tf.Scalar;
              mark();
              return l;
            }, [w1, w2]);
            opt.applyGradients(grads);
            return value;
          }),
      });
      return r.memory.savedActivationBytes;
    };
    const bp = [await saved('backprop', 4), await saved('backprop', 32)];
    const adj = [await saved('adjoint', 4), await saved('adjoint', 32)];
    const irdm = [await saved('irdm', 4), await saved('irdm', 32)];
    assert.ok(bp[1] > 6 * bp[0], `backprop saved ${bp}`);
    assert.equal(adj[1], adj[0], `adjoint saved ${adj}`);
    assert.equal(irdm[1], irdm[0], `irdm saved ${irdm}`);
    assert.ok(bp[1] > 8 * adj[1], `backprop 32 steps ${bp[1]} vs adjoint ${adj[1]}`);
    tf.dispose([z0, w1, w2]);
    opt.dispose();
  });

  it('rejects bad configs naming the field', () => {
    assert.throws(() => validateSolveConfig({ t0: 1, t1: 0.5 }), /t1 must be greater than t0/);
    assert.throws(() => validateSolveConfig({ steps: 0 }), /steps must be a positive integer/);
    assert.throws(() => validateSolveConfig({ solver: 'rk2', u: 0 }), /rk2: u must lie/);
    assert.throws(
      () => validateSolveConfig({ solver: 'dopri5', gradient: 'adjoint' }),
      /needs a fixed-step solver/,
    );
    assert.throws(
      () => validateSolveConfig({ solver: 'dopri5', rtol: 0 }),
      /rtol must be a positive/,
    );
    assert.throws(() => validateSolveConfig({ nodes: 1 }), /nodes must be an integer >= 2/);
    assert.throws(
      () => validateSolveConfig({ backwardSteps: 4 }),
      /backwardSteps applies to the adjoint and IRDM/,
    );
    assert.throws(
      () => validateSolveConfig({ gradient: 'magic' as OdeGradient }),
      /gradient must be one of/,
    );
  });
});

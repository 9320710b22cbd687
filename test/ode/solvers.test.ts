import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { odeintDopri5 } from '../../src/ode/dopri5.js';
import { type OdeFn, odeintFixed } from '../../src/ode/fixed-step.js';
import { RK4, rk2, rk3, rk4uv, tableauFor } from '../../src/ode/tableaus.js';
import { useBackend } from '../helpers.js';
import { integrate64, pendulum } from './reference.js';

/** The forced pendulum on tensors of shape [2]. */
const pendulumT: OdeFn = (t, y) =>
  tf.tidy(() => {
    const [p, q] = tf.unstack(y);
    return tf.stack([q, tf.add(tf.neg(tf.sin(p)), 0.3 * Math.cos(2 * t))]);
  });

/** Harmonic oscillator y'' = -y: y(t) = [cos t, -sin t] from [1, 0]. */
const oscillator: OdeFn = (_t, y) =>
  tf.tidy(() => {
    const [p, q] = tf.unstack(y);
    return tf.stack([q, tf.neg(p)]);
  });

describe('ODE solvers on tensors', () => {
  it('fixed-step solvers match the float64 reference integration', async () => {
    await useBackend('cpu');
    for (const tab of [
      tableauFor('euler'),
      tableauFor('heun'),
      RK4,
      rk2(0.3),
      rk3(0.2, 0.9),
      rk4uv(0.3, 0.9),
    ]) {
      const z0 = tf.tensor1d([1, 0]);
      const z = odeintFixed(pendulumT, z0, { t0: 0, t1: 2, steps: 10, tableau: tab });
      const ref = integrate64(pendulum, [1, 0], 2, 10, tab);
      const got = z.dataSync();
      assert.ok(Math.abs(got[0] - ref[0]) < 1e-5 && Math.abs(got[1] - ref[1]) < 1e-5, tab.name);
      tf.dispose([z0, z]);
    }
  });

  it('convergence order measured on tensors by halving the step', async () => {
    await useBackend('cpu');
    const ref = integrate64(pendulum, [1, 0], 2, 4096, RK4);
    for (const tab of [tableauFor('euler'), rk2(0.7), rk3(0.4, 0.6), rk4uv(0.2, 0.7)]) {
      const err = (n: number) =>
        tf.tidy(() => {
          const y = odeintFixed(pendulumT, tf.tensor1d([1, 0]), {
            t0: 0,
            t1: 2,
            steps: n,
            tableau: tab,
          }).dataSync();
          return Math.hypot(y[0] - ref[0], y[1] - ref[1]);
        });
      const base = tab.order === 4 ? 4 : 8;
      const observed = Math.log2(err(base) / err(2 * base));
      assert.ok(Math.abs(observed - tab.order) < 0.4, `${tab.name}: ${observed.toFixed(2)}`);
    }
  });

  it('dopri5 meets its tolerance on a known solution and tightening it adds steps', async () => {
    await useBackend('cpu');
    const runs = [1e-3, 1e-5].map((tol) => {
      const z0 = tf.tensor1d([1, 0]);
      const r = odeintDopri5(oscillator, z0, { t0: 0, t1: 5, rtol: tol, atol: tol });
      const y = r.z.dataSync();
      const error = Math.hypot(y[0] - Math.cos(5), y[1] + Math.sin(5));
      tf.dispose([z0, r.z]);
      return { tol, error, steps: r.accepted };
    });
    for (const r of runs) assert.ok(r.error < 10 * r.tol, `tol ${r.tol}: error ${r.error}`);
    assert.ok(runs[1].steps > runs[0].steps, 'tighter tolerance takes more steps');
    assert.ok(runs[1].error < runs[0].error);
  });

  it('bad input and an exhausted step budget give clear errors and leak nothing', async () => {
    await useBackend('cpu');
    const z0 = tf.tensor1d([1, 0]);
    const before = tf.memory().numTensors;
    assert.throws(
      () => odeintFixed(oscillator, z0, { t0: 1, t1: 1, steps: 4, tableau: RK4 }),
      /t1 must be greater than t0/,
    );
    assert.throws(
      () => odeintFixed(oscillator, z0, { t0: 0, t1: 1, steps: 0, tableau: RK4 }),
      /steps must be a positive integer/,
    );
    assert.throws(
      () => odeintDopri5(oscillator, z0, { t0: 2, t1: 1 }),
      /t1 must be greater than t0/,
    );
    assert.throws(
      () => odeintDopri5(oscillator, z0, { t0: 0, t1: 1, rtol: 0 }),
      /rtol must be a positive/,
    );
    assert.throws(
      () => odeintDopri5(oscillator, z0, { t0: 0, t1: 1, atol: -1 }),
      /atol must be a positive/,
    );
    assert.throws(
      () => odeintDopri5(oscillator, z0, { t0: 0, t1: 50, rtol: 1e-6, atol: 1e-6, maxSteps: 5 }),
      /step budget of 5 steps exhausted/,
    );
    assert.equal(tf.memory().numTensors, before);
    const r = odeintDopri5(oscillator, z0, { t0: 0, t1: 1 });
    r.z.dispose();
    const z = odeintFixed(oscillator, z0, { t0: 0, t1: 1, steps: 3, tableau: RK4 });
    z.dispose();
    assert.equal(tf.memory().numTensors, before);
    z0.dispose();
  });

  it('backpropagation through dopri5 matches the exact gradient of a linear ODE', async () => {
    await useBackend('cpu');
    // z' = lambda z: z(T) = exp(lambda T) z0, d z(T) / d lambda = T exp(lambda T) z0.
    const g = tf.grad((lam: tf.Tensor) => {
      const f: OdeFn = (_t, z) => tf.mul(lam, z);
      return odeintDopri5(f, tf.scalar(2), { t0: 0, t1: 1.5, rtol: 1e-6, atol: 1e-7 })
        .z as tf.Scalar;
    });
    const d = g(tf.scalar(-0.8)).dataSync()[0];
    const exact = 1.5 * Math.exp(-0.8 * 1.5) * 2;
    assert.ok(Math.abs(d - exact) / Math.abs(exact) < 1e-4, `${d} vs ${exact}`);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  orderResidual,
  rootedTrees,
  rowSumDefect,
  stabilityPolynomial,
} from '../../src/ode/order-conditions.js';
import {
  type ButcherTableau,
  DOPRI5,
  EULER,
  HEUN,
  MIDPOINT,
  RK4,
  rk2,
  rk3,
  rk4uv,
  tableauFor,
} from '../../src/ode/tableaus.js';
import { integrate64, pendulum } from './reference.js';

const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));

/** Parameter grids of the families (valid values only). */
const RK2_U = [0.1, 0.25, 0.5, 2 / 3, 0.8, 1];
const RK3_UV: [number, number][] = [
  [0.5, 1],
  [1 / 3, 2 / 3],
  [0.2, 0.9],
  [0.9, 0.3],
  [1, 0.5],
  [0.4, 0.6],
];
const RK4_UV: [number, number][] = [
  [1 / 3, 2 / 3],
  [0.2, 0.7],
  [0.3, 0.9],
  [0.7, 0.4],
  [0.9, 0.1],
];

function families(): ButcherTableau[] {
  return [
    EULER,
    MIDPOINT,
    HEUN,
    RK4,
    ...RK2_U.map((u) => rk2(u)),
    ...RK3_UV.map(([u, v]) => rk3(u, v)),
    ...RK4_UV.map(([u, v]) => rk4uv(u, v)),
  ];
}

describe('Butcher tableaus', () => {
  it('enumerates 1, 1, 2, 4, 9 rooted trees of orders 1..5', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => rootedTrees(n).length),
      [1, 1, 2, 4, 9],
    );
  });

  it('every tableau meets the order conditions of its order and not the next', () => {
    for (const tab of [...families(), DOPRI5]) {
      assert.ok(rowSumDefect(tab) < 1e-12, `${tab.name}: rows sum to c`);
      assert.ok(orderResidual(tab, tab.order) < 1e-12, `${tab.name} has order ${tab.order}`);
      assert.ok(
        orderResidual(tab, tab.order + 1) > 1e-4,
        `${tab.name} is not order ${tab.order + 1}`,
      );
    }
    assert.ok(orderResidual(DOPRI5, 4, DOPRI5.bErr) < 1e-12, 'dopri5 embedded weights: order 4');
  });

  it('the stability polynomial is the Taylor polynomial of exp(z) of degree p (s = p) for every parameter', () => {
    for (const tab of families()) {
      const r = stabilityPolynomial(tab);
      assert.equal(r.length, tab.order + 1, `${tab.name}: s = p stages`);
      r.forEach((coef, k) => {
        assert.ok(
          Math.abs(coef - 1 / factorial(k)) < 1e-12,
          `${tab.name}: z^${k} coefficient ${coef}`,
        );
      });
    }
  });

  it("the one-step amplification on y' = lambda y equals R(h lambda)", () => {
    for (const tab of families()) {
      for (const z of [-2.5, -0.7, 0.3, 1.1]) {
        const y1 = integrate64((_t, y) => [z * y[0]], [1], 1, 1, tab)[0];
        const r = stabilityPolynomial(tab).reduce((s, c, k) => s + c * z ** k, 0);
        assert.ok(Math.abs(y1 - r) < 1e-12, `${tab.name} at z = ${z}`);
      }
    }
  });

  it('measured convergence order (halving the step) matches the order', () => {
    const reference = integrate64(pendulum, [1, 0], 2, 4096, RK4);
    for (const tab of families()) {
      const errs = [8, 16, 32].map((n) => {
        const y = integrate64(pendulum, [1, 0], 2, n, tab);
        return Math.hypot(y[0] - reference[0], y[1] - reference[1]);
      });
      const observed = Math.log2(errs[1] / errs[2]);
      assert.ok(
        Math.abs(observed - tab.order) < 0.3,
        `${tab.name}: observed order ${observed.toFixed(2)} for order ${tab.order}`,
      );
    }
  });

  it('named families reproduce the classic methods at their parameters', () => {
    const close = (a: ButcherTableau, b: ButcherTableau) => {
      assert.deepEqual(a.c, b.c);
      for (let i = 0; i < a.b.length; i++) {
        assert.ok(Math.abs(a.b[i] - b.b[i]) < 1e-12);
        for (let j = 0; j < a.a[i].length; j++) assert.ok(Math.abs(a.a[i][j] - b.a[i][j]) < 1e-12);
      }
    };
    close(rk2(0.5), MIDPOINT);
    close(rk2(1), HEUN);
    close(rk3(0.5, 1), { ...rk3(0.5, 1), a: [[], [0.5], [-1, 2]], b: [1 / 6, 2 / 3, 1 / 6] });
    const r38 = rk4uv(1 / 3, 2 / 3);
    const w38 = [1 / 8, 3 / 8, 3 / 8, 1 / 8];
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(r38.b[i] - w38[i]) < 1e-12);
  });

  it('rejects parameters outside each family with a message naming the problem', () => {
    assert.throws(() => rk2(0), /rk2: u must lie in \(0, 1\]/);
    assert.throws(() => rk2(-0.5), /rk2: u must lie/);
    assert.throws(() => rk2(Number.NaN), /finite number/);
    assert.throws(() => rk3(0.5, 0.5), /must differ/);
    assert.throws(() => rk3(2 / 3, 0.9), /u = 2\/3/);
    assert.throws(() => rk3(0, 1), /\(0, 1\]/);
    assert.throws(() => rk4uv(0.5, 0.8), /u = 1\/2/);
    assert.throws(() => rk4uv(0.3, 1), /\(0, 1\)/);
    assert.throws(() => rk4uv(0.4, 0.4), /must differ/);
    assert.throws(() => tableauFor('rk4', { u: 0.3 }), /takes no parameters/);
    assert.throws(() => tableauFor('rk2', { u: 0.5, v: 0.2 }), /one parameter/);
    assert.throws(() => tableauFor('rk5'), /Unknown ODE solver 'rk5'/);
  });
});

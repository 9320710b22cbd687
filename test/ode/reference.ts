import type { ButcherTableau } from '../../src/ode/tableaus.js';

/** Float64 reference RK integration on plain arrays. */
export function integrate64(
  f: (t: number, y: number[]) => number[],
  y0: number[],
  t1: number,
  steps: number,
  tab: ButcherTableau,
): number[] {
  const h = t1 / steps;
  let y = [...y0];
  for (let n = 0; n < steps; n++) {
    const t = n * h;
    const ks: number[][] = [];
    for (let i = 0; i < tab.c.length; i++) {
      const yi = y.map((v, d) => v + h * tab.a[i].reduce((s, aij, j) => s + aij * ks[j][d], 0));
      ks.push(f(t + tab.c[i] * h, yi));
    }
    y = y.map((v, d) => v + h * tab.b.reduce((s, bi, i) => s + bi * ks[i][d], 0));
  }
  return y;
}

/** Forced pendulum: exercises every order condition (non-linear, non-autonomous). */
export const pendulum = (t: number, y: number[]) => [y[1], -Math.sin(y[0]) + 0.3 * Math.cos(2 * t)];

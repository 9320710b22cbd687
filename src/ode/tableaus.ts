/**
 * Butcher tableaus of explicit Runge-Kutta methods: the classic fixed-step methods, the parametric
 * families RK2(u), RK3(u, v) and RK4(u, v) of the meta-solver papers, and Dormand-Prince 5(4).
 *
 * An explicit s-stage method advances z' = f(t, z) by one step h:
 *   k_i = f(t + c_i h, z + h sum_{j<i} a_ij k_j),   z_next = z + h sum_i b_i k_i.
 *
 * The parametric families are the general solutions of the order conditions (see
 * `order-conditions.ts`) for s = p = 2, 3, 4, parameterised by the free nodes:
 *
 * RK2(u): c = [0, u]. Conditions b1 + b2 = 1, b2 c2 = 1/2 give
 *   a21 = u, b2 = 1/(2u), b1 = 1 - 1/(2u).   u = 1/2 midpoint, u = 1 Heun, u = 2/3 Ralston.
 *
 * RK3(u, v): c = [0, u, v]. The quadrature conditions b.1 = 1, b.c = 1/2, b.c^2 = 1/3 give
 *   b2 = (2 - 3v) / (6u(u - v)), b3 = (2 - 3u) / (6v(v - u)), b1 = 1 - b2 - b3,
 * and b3 a32 c2 = 1/6 gives a32 = v(v - u) / (u(2 - 3u)), a31 = v - a32, a21 = u.
 *   (u, v) = (1/2, 1) is Kutta's third-order method, (1/3, 2/3) Heun's third-order method.
 *
 * RK4(u, v): c = [0, u, v, 1] (every 4-stage method of order 4 has c4 = 1). b solves the
 * quadrature conditions b.c^{k-1} = 1/k, k = 1..4 on the nodes 0, u, v, 1:
 *   b2 = (2v - 1) / (12u(u - v)(u - 1)), b3 = (2u - 1) / (12v(v - u)(v - 1)),
 *   b4 = (3 - 4(u + v) + 6uv) / (12(1 - u)(1 - v)), b1 = 1 - b2 - b3 - b4.
 * With X = b3 a32 u and Y = b4 (a42 u + a43 v), the conditions b.Ac = 1/6 and (b*c).Ac = 1/8
 * give X = 1/(24(1 - v)), Y = 1/6 - X; then a32 = X/(b3 u), a43 = b3 / (24 b4 X) (from
 * b.AAc = 1/24), a42 = (Y/b4 - a43 v)/u, and each row sums to its node. The remaining condition
 * b.Ac^2 = 1/12 then holds identically. (u, v) = (1/3, 2/3) is the 3/8 rule. The classic RK4
 * (c2 = c3 = 1/2) lies outside this two-parameter family (u = v) and is given separately.
 */

export interface ButcherTableau {
  name: string;
  /** Order of accuracy of the solution weights `b`. */
  order: number;
  /** Nodes, one per stage (c[0] = 0 for explicit methods). */
  c: number[];
  /** Strictly lower-triangular stage matrix, `a[i]` has `i` entries. */
  a: number[][];
  /** Solution weights. */
  b: number[];
  /** Embedded weights of the error estimate (adaptive methods only). */
  bErr?: number[];
  /** Order of the embedded weights. */
  errOrder?: number;
}

export const FIXED_SOLVERS = ['euler', 'midpoint', 'heun', 'rk4', 'rk2', 'rk3', 'rk4u'] as const;
export type FixedSolverName = (typeof FIXED_SOLVERS)[number];
export const SOLVERS = [...FIXED_SOLVERS, 'dopri5'] as const;
export type SolverName = (typeof SOLVERS)[number];

/** Solver parameters of the parametric families (ignored by the others: they error). */
export interface SolverParams {
  u?: number;
  v?: number;
}

/** Default parameters: RK2 midpoint, RK3 Kutta's third order, RK4(u, v) the 3/8 rule. */
export const DEFAULT_PARAMS: Record<'rk2' | 'rk3' | 'rk4u', Required<SolverParams>> = {
  rk2: { u: 0.5, v: Number.NaN },
  rk3: { u: 0.5, v: 1 },
  rk4u: { u: 1 / 3, v: 2 / 3 },
};

function finite(name: string, x: number): void {
  if (typeof x !== 'number' || !Number.isFinite(x))
    throw new Error(`${name}: solver parameter must be a finite number, got ${String(x)}`);
}

const TOO_CLOSE = 1e-6;
function apart(x: number, y: number): boolean {
  return Math.abs(x - y) > TOO_CLOSE;
}

/**
 * RK2(u), valid for u in (0, 1] (u = 0 divides by zero; u > 1 evaluates f outside the step and
 * is rejected as in the meta-solver papers).
 */
export function rk2(u: number): ButcherTableau {
  finite('rk2 u', u);
  if (!(u > 0 && u <= 1))
    throw new Error(`rk2: u must lie in (0, 1] (b2 = 1/(2u) is undefined at 0), got ${u}`);
  const b2 = 1 / (2 * u);
  return { name: `rk2(u=${u})`, order: 2, c: [0, u], a: [[], [u]], b: [1 - b2, b2] };
}

/**
 * RK3(u, v), valid for u, v in (0, 1] with u != v (the quadrature system is singular) and
 * u != 2/3 (b3 = 0, a32 undefined).
 */
export function rk3(u: number, v: number): ButcherTableau {
  finite('rk3 u', u);
  finite('rk3 v', v);
  if (!(u > 0 && u <= 1 && v > 0 && v <= 1))
    throw new Error(`rk3: u and v must lie in (0, 1], got u = ${u}, v = ${v}`);
  if (!apart(u, v)) throw new Error(`rk3: u and v must differ (u = v = ${u} is singular)`);
  if (!apart(u, 2 / 3))
    throw new Error('rk3: u = 2/3 makes b3 = 0 (a32 undefined): choose another u');
  const b2 = (2 - 3 * v) / (6 * u * (u - v));
  const b3 = (2 - 3 * u) / (6 * v * (v - u));
  const a32 = (v * (v - u)) / (u * (2 - 3 * u));
  return {
    name: `rk3(u=${u},v=${v})`,
    order: 3,
    c: [0, u, v],
    a: [[], [u], [v - a32, a32]],
    b: [1 - b2 - b3, b2, b3],
  };
}

/**
 * RK4(u, v) with c = [0, u, v, 1], valid for u, v in (0, 1), u != v, u != 1/2 (b3 = 0) and
 * 3 - 4(u + v) + 6uv != 0 (b4 = 0).
 */
export function rk4uv(u: number, v: number): ButcherTableau {
  finite('rk4u u', u);
  finite('rk4u v', v);
  if (!(u > 0 && u < 1 && v > 0 && v < 1))
    throw new Error(`rk4u: u and v must lie in (0, 1), got u = ${u}, v = ${v}`);
  if (!apart(u, v))
    throw new Error(`rk4u: u and v must differ (u = v = ${u} is singular; classic RK4 is 'rk4')`);
  if (!apart(u, 0.5)) throw new Error('rk4u: u = 1/2 makes b3 = 0: choose another u');
  const b4num = 3 - 4 * (u + v) + 6 * u * v;
  if (Math.abs(b4num) < TOO_CLOSE)
    throw new Error(`rk4u: 3 - 4(u + v) + 6uv = 0 makes b4 = 0 (u = ${u}, v = ${v})`);
  const b2 = (2 * v - 1) / (12 * u * (u - v) * (u - 1));
  const b3 = (2 * u - 1) / (12 * v * (v - u) * (v - 1));
  const b4 = b4num / (12 * (1 - u) * (1 - v));
  const X = 1 / (24 * (1 - v));
  const Y = 1 / 6 - X;
  const a32 = X / (b3 * u);
  const a43 = b3 / (24 * b4 * X);
  const a42 = (Y / b4 - a43 * v) / u;
  return {
    name: `rk4u(u=${u},v=${v})`,
    order: 4,
    c: [0, u, v, 1],
    a: [[], [u], [v - a32, a32], [1 - a42 - a43, a42, a43]],
    b: [1 - b2 - b3 - b4, b2, b3, b4],
  };
}

export const EULER: ButcherTableau = { name: 'euler', order: 1, c: [0], a: [[]], b: [1] };
export const MIDPOINT: ButcherTableau = {
  name: 'midpoint',
  order: 2,
  c: [0, 0.5],
  a: [[], [0.5]],
  b: [0, 1],
};
export const HEUN: ButcherTableau = {
  name: 'heun',
  order: 2,
  c: [0, 1],
  a: [[], [1]],
  b: [0.5, 0.5],
};
export const RK4: ButcherTableau = {
  name: 'rk4',
  order: 4,
  c: [0, 0.5, 0.5, 1],
  a: [[], [0.5], [0, 0.5], [0, 0, 1]],
  b: [1 / 6, 1 / 3, 1 / 3, 1 / 6],
};

/** Dormand-Prince 5(4): 5th-order solution, 4th-order embedded estimate, FSAL (7 stages). */
export const DOPRI5: ButcherTableau = {
  name: 'dopri5',
  order: 5,
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  b: [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
  bErr: [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40],
  errOrder: 4,
};

/**
 * The tableau of a fixed-step solver by name. Parameters are accepted only by the parametric
 * families (rk2, rk3, rk4u); giving one to another solver is an error (it would change nothing).
 */
export function tableauFor(name: string, params: SolverParams = {}): ButcherTableau {
  const given = (['u', 'v'] as const).filter((k) => params[k] !== undefined);
  const noParams = (t: ButcherTableau) => {
    if (given.length > 0)
      throw new Error(
        `solver '${name}' takes no parameters (got ${given.join(', ')}): only rk2 (u), rk3 (u, v) and rk4u (u, v) do`,
      );
    return t;
  };
  switch (name) {
    case 'euler':
      return noParams(EULER);
    case 'midpoint':
      return noParams(MIDPOINT);
    case 'heun':
      return noParams(HEUN);
    case 'rk4':
      return noParams(RK4);
    case 'rk2':
      if (params.v !== undefined) throw new Error("solver 'rk2' has one parameter (u), got v too");
      return rk2(params.u ?? DEFAULT_PARAMS.rk2.u);
    case 'rk3':
      return rk3(params.u ?? DEFAULT_PARAMS.rk3.u, params.v ?? DEFAULT_PARAMS.rk3.v);
    case 'rk4u':
      return rk4uv(params.u ?? DEFAULT_PARAMS.rk4u.u, params.v ?? DEFAULT_PARAMS.rk4u.v);
    case 'dopri5':
      return noParams(DOPRI5);
    default:
      throw new Error(`Unknown ODE solver '${name}': choose one of ${SOLVERS.join(', ')}`);
  }
}

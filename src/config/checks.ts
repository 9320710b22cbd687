/**
 * Field checkers: each takes a value and where it is (`At`), returns it typed, or throws a
 * ConfigError that names the config, the field and the value it got. Combine them with `object`,
 * `record`, `list`, `optional`, `nullable` and `either`.
 */
import { type At, ConfigError } from './at.js';

export interface Check<T> {
  (value: unknown, at: At): T;
  /** What the check accepts, as error messages say it ('a positive integer'). */
  readonly expects: string;
}

/** A checker from a function and what it accepts. */
export function check<T>(expects: string, f: (value: unknown, at: At) => T): Check<T> {
  return Object.assign((value: unknown, at: At) => f(value, at), { expects });
}

/** A plain object (not null, not an array, not a class instance such as a tensor). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Bounds of a number: `min`/`max` inclusive, `above`/`below` exclusive. */
export interface NumberRange {
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

function numberExpects(r: NumberRange): string {
  const lo = r.above !== undefined ? `(${r.above}` : r.min !== undefined ? `[${r.min}` : undefined;
  const hi = r.below !== undefined ? `${r.below})` : r.max !== undefined ? `${r.max}]` : undefined;
  if (lo && hi) return `in ${lo}, ${hi}`;
  if (r.above === 0) return 'a positive number';
  if (r.min === 0) return 'a non-negative number';
  if (r.above !== undefined) return `a number > ${r.above}`;
  if (r.min !== undefined) return `a number >= ${r.min}`;
  if (r.below !== undefined) return `a number < ${r.below}`;
  if (r.max !== undefined) return `a number <= ${r.max}`;
  return 'a finite number';
}

function inRange(v: number, r: NumberRange): boolean {
  return (
    (r.min === undefined || v >= r.min) &&
    (r.max === undefined || v <= r.max) &&
    (r.above === undefined || v > r.above) &&
    (r.below === undefined || v < r.below)
  );
}

/** A finite number within `range` (NaN and infinities are refused). */
export function number(range: NumberRange = {}): Check<number> {
  const expects = numberExpects(range);
  return check(expects, (v, at) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !inRange(v, range))
      throw at.expected(expects, v);
    return v;
  });
}

/** An integer within `min`..`max` (inclusive). */
export function integer(range: { min?: number; max?: number } = {}): Check<number> {
  const { min, max } = range;
  const expects =
    min !== undefined && max !== undefined
      ? `an integer from ${min} to ${max}`
      : min === 1
        ? 'a positive integer'
        : min === 0
          ? 'a non-negative integer'
          : min !== undefined
            ? `an integer >= ${min}`
            : max !== undefined
              ? `an integer <= ${max}`
              : 'an integer';
  return check(expects, (v, at) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || !inRange(v, range))
      throw at.expected(expects, v);
    return v;
  });
}

/** One of `choices` (compared with ===). */
export function oneOf<const T extends string | number | boolean>(choices: readonly T[]): Check<T> {
  const expects = `one of ${choices.join(', ')}`;
  return check(expects, (v, at) => {
    if (!(choices as readonly unknown[]).includes(v)) throw at.expected(expects, v);
    return v as T;
  });
}

/** true or false. */
export function boolean(): Check<boolean> {
  return check('true or false', (v, at) => {
    if (typeof v !== 'boolean') throw at.expected('true or false', v);
    return v;
  });
}

/** A string (non-empty when `nonEmpty`). */
export function string(options: { nonEmpty?: boolean } = {}): Check<string> {
  const expects = options.nonEmpty ? 'a non-empty string' : 'a string';
  return check(expects, (v, at) => {
    if (typeof v !== 'string' || (options.nonEmpty && v.length === 0))
      throw at.expected(expects, v);
    return v;
  });
}

/** `c`, or undefined when the field is absent (or undefined). */
export function optional<T>(c: Check<T>): Check<T | undefined> {
  return check(c.expects, (v, at) => (v === undefined ? undefined : c(v, at)));
}

/** `c`, or null. */
export function nullable<T>(c: Check<T>): Check<T | null> {
  const expects = `${c.expects} or null`;
  return check(expects, (v, at) => {
    if (v === null) return null;
    try {
      return c(v, at);
    } catch (e) {
      // The value itself is of the wrong kind (not a field inside it, not an unknown field):
      // say that null would do too.
      if (e instanceof ConfigError && e.field === at.path && e.expects !== undefined)
        throw at.expected(expects, v);
      throw e;
    }
  });
}

type Checked<C> = C extends Check<infer T> ? T : never;

/**
 * The first of `checks` that accepts the value; when none does, the error says `expects` (default:
 * the checks' own descriptions joined by 'or').
 */
export function either<const C extends readonly Check<unknown>[]>(
  checks: C,
  expects = checks.map((c) => c.expects).join(' or '),
): Check<Checked<C[number]>> {
  return check(expects, (v, at) => {
    for (const c of checks) {
      try {
        return c(v, at) as Checked<C[number]>;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
      }
    }
    throw at.expected(expects, v);
  });
}

/** A list of values `c` accepts, of `length` entries, or `minLength`..`maxLength`. */
export function list<T>(
  c: Check<T>,
  options: { length?: number; minLength?: number; maxLength?: number } = {},
): Check<T[]> {
  const {
    length,
    minLength = length ?? 0,
    maxLength = length ?? Number.POSITIVE_INFINITY,
  } = options;
  const size =
    minLength === maxLength
      ? ` of ${minLength}`
      : maxLength === Number.POSITIVE_INFINITY
        ? minLength > 0
          ? ` of at least ${minLength}`
          : ''
        : ` of ${minLength} to ${maxLength}`;
  const expects = `a list${size} ${size ? 'entries' : 'of entries'}, each ${c.expects}`;
  return check(expects, (v, at) => {
    if (!Array.isArray(v) || v.length < minLength || v.length > maxLength)
      throw at.expected(expects, v);
    return v.map((x, i) => c(x, at.index(i)));
  });
}

/** Throws, naming the first field of `raw` that is not in `known` and listing those that are. */
export function rejectUnknownFields(
  raw: Record<string, unknown>,
  known: readonly string[],
  at: At,
): void {
  const all = [...at.handled, ...known];
  for (const k of Object.keys(raw)) {
    if (!all.includes(k))
      throw at.error(`unknown field '${k}' (known: ${all.join(', ') || 'none'})`);
  }
}

export type Shape = Record<string, Check<unknown>>;
export type ShapeValue<S extends Shape> = { [K in keyof S]: Checked<S[K]> };

/**
 * A plain object whose fields `shape` checks, in its order; any other field is refused, naming it.
 * Fields whose check returns undefined (absent optional ones) are left out of the result.
 */
export function object<S extends Shape>(shape: S): Check<ShapeValue<S>> {
  const known = Object.keys(shape);
  return check('an object', (v, at) => {
    if (!isPlainObject(v)) throw at.expected('an object', v);
    rejectUnknownFields(v, known, at);
    const out: Record<string, unknown> = {};
    for (const k of known) {
      const x = shape[k](v[k], at.field(k));
      if (x !== undefined) out[k] = x;
    }
    return out as ShapeValue<S>;
  });
}

/** A plain object keyed by any names (`keys` says what they are), each value checked by `c`. */
export function record<T>(c: Check<T>, keys = 'name'): Check<Record<string, T>> {
  const expects = `an object keyed by ${keys}`;
  return check(expects, (v, at) => {
    if (!isPlainObject(v)) throw at.expected(expects, v);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) out[k] = c(x, at.field(k));
    return out;
  });
}

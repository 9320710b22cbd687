/** Field checks for method options: each error names the field and the value it got. */
export type RawOptions = Record<string, unknown>;

export function checkKnownFields(raw: RawOptions, known: readonly string[], where: string): void {
  for (const k of Object.keys(raw)) {
    if (!known.includes(k))
      throw new Error(`${where}: unknown option '${k}' (known: ${known.join(', ') || 'none'})`);
  }
}

function rangeField(
  raw: RawOptions,
  key: string,
  where: string,
  range: RangeArgs[3],
  integer: boolean,
): number {
  const v = raw[key] ?? range.fallback;
  const ok = typeof v === 'number' && (integer ? Number.isInteger(v) : Number.isFinite(v));
  if (!ok || v < range.min || v > range.max) {
    throw new Error(
      `${where}: ${key} must be ${integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

type RangeArgs = [
  raw: RawOptions,
  key: string,
  where: string,
  range: { min: number; max: number; fallback: number },
];

export const intField = (...a: RangeArgs): number => rangeField(...a, true);
export const numberField = (...a: RangeArgs): number => rangeField(...a, false);

export function enumField<T extends string>(
  raw: RawOptions,
  key: string,
  where: string,
  choices: readonly T[],
  fallback: T,
): T {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new Error(
      `${where}: ${key} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}

export function boolField(raw: RawOptions, key: string, where: string, fallback: boolean): boolean {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'boolean')
    throw new Error(`${where}: ${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function isPlainObject(v: unknown): v is RawOptions {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field checks for method options: each error names the field and the value it got. */
export type RawOptions = Record<string, unknown>;

export function checkKnownFields(raw: RawOptions, known: readonly string[], where: string): void {
  for (const k of Object.keys(raw)) {
    if (!known.includes(k))
      throw new Error(`${where}: unknown option '${k}' (known: ${known.join(', ') || 'none'})`);
  }
}

export function intField(
  raw: RawOptions,
  key: string,
  where: string,
  range: { min: number; max: number; fallback: number },
): number {
  const v = raw[key] ?? range.fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < range.min || v > range.max) {
    throw new Error(
      `${where}: ${key} must be an integer from ${range.min} to ${range.max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

export function numberField(
  raw: RawOptions,
  key: string,
  where: string,
  range: { min: number; max: number; fallback: number },
): number {
  const v = raw[key] ?? range.fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < range.min || v > range.max) {
    throw new Error(
      `${where}: ${key} must be a number from ${range.min} to ${range.max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

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

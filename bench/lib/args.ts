/** Command-line settings of a benchmark: `npm run bench:x -- --batch 64 --quick`. */

/** The value after `--name` on the command line, or `fallback` when `--name` is not given. */
export function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

/** A numeric `--name <value>`, or `fallback`; anything but a finite number is an error. */
export function numberArg(name: string, fallback: number): number {
  const raw = argValue(name, String(fallback));
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v))
    throw new Error(`--${name} must be a number, got '${raw}'`);
  return v;
}

/** Whether the bare flag `--name` is on the command line. */
export function hasFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/**
 * The number in the environment variable `name`, or `fallback` when it is unset or empty (the
 * knobs that shrink a long benchmark: `SPARSE_BENCH_EPOCHS=1 npm run bench:sparse-grad`).
 */
export function envNumber(name: string, fallback: number): number {
  return process.env[name] ? Number(process.env[name]) : fallback;
}

/**
 * Byte sizes as people write them. Decimal units are powers of 1000 (KB, MB, GB), binary units
 * powers of 1024 (KiB, MiB, GiB); a bare number is bytes. Unit letters are case-insensitive
 * except a lowercase 'b' after a prefix ('64Mb'), which conventionally means bits and is
 * rejected rather than guessed.
 */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) {
    throw new Error(
      `cannot read '${text}' as a memory size: write a number and a unit, e.g. 64MB, 512KB, 1.5GiB or 1000000 (bytes)`,
    );
  }
  const unit = m[2];
  if (/^[kKmMgG]i?b$/.test(unit)) {
    throw new Error(
      `'${text}' reads as bits (lowercase b); write ${m[1]}${unit[0].toUpperCase()}${unit.length === 3 ? 'iB' : 'B'} for bytes`,
    );
  }
  const scale = UNITS[unit.toLowerCase()];
  if (scale === undefined) {
    throw new Error(
      `unknown memory unit '${unit}' in '${text}': use B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024)`,
    );
  }
  const bytes = Math.round(Number(m[1]) * scale);
  if (!(bytes > 0)) throw new Error(`memory size '${text}' must be more than 0 bytes`);
  return bytes;
}

/** A short human-readable size in decimal units (the unit `parseBytes` reads back). */
export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (abs >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (abs >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${bytes} B`;
}

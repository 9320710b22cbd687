import { InvalidArgumentError } from 'commander';
import { parseBytes } from '../remat/budget.js';

/** Commander value parsers that reject bad numbers with a message naming the option's value. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  }
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n)) {
    throw new InvalidArgumentError(`expected a non-negative integer, got '${value}'`);
  }
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  }
  return n;
}

export function integer(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()))
    throw new InvalidArgumentError(`expected an integer, got '${value}'`);
  return n;
}

export function oneOf<T extends string>(choices: readonly T[], what: string): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(
        `unknown ${what} '${value}': choose one of ${choices.join(', ')}`,
      );
    }
    return value as T;
  };
}

export function activationBits(value: string): 1 | 2 | 4 | 8 | 32 {
  const n = Number(value);
  if (![1, 2, 4, 8, 32].includes(n))
    throw new InvalidArgumentError(`expected activation bits 1, 2, 4, 8 or 32, got '${value}'`);
  return n as 1 | 2 | 4 | 8 | 32;
}

export function fewbitBits(value: string): 1 | 2 | 3 | 4 {
  const n = Number(value);
  if (![1, 2, 3, 4].includes(n))
    throw new InvalidArgumentError(`expected few-bit bits 1, 2, 3 or 4, got '${value}'`);
  return n as 1 | 2 | 3 | 4;
}

export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 1))
    throw new InvalidArgumentError(`expected a ratio in (0, 1], got '${value}'`);
  return n;
}

/** A memory size such as 64MB, 512KiB or 1000000 (bytes); see `parseBytes`. */
export function memorySize(value: string): number {
  try {
    return parseBytes(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** `auto`, `off` or a positive integer (samples per chunk of the chunked forward). */
export function forwardChunk(value: string): 'auto' | 'off' | number {
  if (value === 'auto' || value === 'off') return value;
  try {
    return positiveInt(value);
  } catch {
    throw new InvalidArgumentError(
      `expected 'auto', 'off' or a positive integer (samples per chunk), got '${value}'`,
    );
  }
}

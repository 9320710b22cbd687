/**
 * A value as a config error shows it: compact JSON, except that what JSON would print as null or
 * drop is named as it is (NaN, Infinity, -Infinity, undefined, a function, a bigint), an instance
 * of a class is named by its class, and long values are cut at `maxLength` characters.
 */
export function showValue(value: unknown, maxLength = 80): string {
  const s = show(value, new Set());
  return s.length > maxLength ? `${s.slice(0, maxLength - 3)}...` : s;
}

function show(v: unknown, seen: Set<object>): string {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'string':
      return JSON.stringify(v);
    case 'undefined':
      return 'undefined';
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return v.toString();
    case 'function':
      return 'a function';
    case 'boolean':
      return String(v);
  }
  if (v === null) return 'null';
  const o = v as object;
  if (seen.has(o)) return '[circular]';
  seen.add(o);
  try {
    if (Array.isArray(o)) return `[${o.map((x) => show(x, seen)).join(',')}]`;
    const proto = Object.getPrototypeOf(o);
    if (proto !== null && proto !== Object.prototype) {
      const name = (o as { constructor?: { name?: string } }).constructor?.name;
      return name ? `a ${name}` : 'an object';
    }
    const entries = Object.entries(o).map(([k, x]) => `${JSON.stringify(k)}:${show(x, seen)}`);
    return `{${entries.join(',')}}`;
  } finally {
    seen.delete(o);
  }
}

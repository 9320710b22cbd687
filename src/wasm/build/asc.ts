// The one call into the AssemblyScript compiler that both build scripts (compile.ts, tfjs-heap.ts)
// share: compiles one source file in memory and returns the .wasm bytes, with asc's stderr in the
// error when it fails. Build-time only (needs the `assemblyscript` devDependency).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

/** The flags of every frugal module: optimised, no runtime (JS owns the memory), SIMD on. */
export const ASC_BASE_FLAGS: readonly string[] = [
  '-O3',
  '--runtime',
  'stub',
  '--noAssert',
  '--enable',
  'simd',
];

/** Compiles `source` with `flags` to WebAssembly bytes (in memory; writes nothing). */
export async function ascCompile(
  source: string,
  outName: string,
  flags: readonly string[],
): Promise<Uint8Array> {
  let binary: Uint8Array | null = null;
  const errors: string[] = [];
  const result = await asc.main([source, '-o', outName, ...flags], {
    writeFile(name, contents) {
      if (name.endsWith('.wasm') && typeof contents !== 'string') binary = contents;
    },
    stderr: {
      write(chunk: Uint8Array | string) {
        errors.push(typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk));
        return true;
      },
    } as never,
  });
  if (result.error) throw new Error(`asc failed: ${result.error.message}\n${errors.join('')}`);
  if (!binary) throw new Error(`asc produced no binary for ${source}`);
  return binary;
}

/** `bytes` as base64 (the generated artefacts hold the modules this way). */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/**
 * Text of a generated TypeScript module: the `header` lines as `//` comments, then one
 * `export const` per entry (a number as it is, bytes as a base64 string on the next line).
 */
export function renderModule(
  header: readonly string[],
  consts: readonly (readonly [name: string, value: number | Uint8Array])[],
): string {
  const lines = header.map((h) => `// ${h}`);
  for (const [name, value] of consts)
    lines.push(
      typeof value === 'number'
        ? `export const ${name} = ${value};`
        : `export const ${name} =\n  '${base64(value)}';`,
    );
  return [...lines, ''].join('\n');
}

/**
 * When the script at `scriptUrl` (its `import.meta.url`) is the one node runs, writes the module
 * `build` returns to `path` and logs `note` (`npm run build:wasm*`; a test importing it does not).
 */
export async function writeArtefactWhenRun(
  scriptUrl: string,
  path: string,
  build: () => Promise<{ text: string; note: string }>,
): Promise<void> {
  if (!process.argv[1] || fileURLToPath(scriptUrl) !== process.argv[1]) return;
  const { text, note } = await build();
  writeFileSync(path, text);
  console.log(`wrote ${path} (${note})`);
}

// The one call into the AssemblyScript compiler that both build scripts (compile.ts, tfjs-heap.ts)
// share: compiles one source file in memory and returns the .wasm bytes, with asc's stderr in the
// error when it fails. Build-time only (needs the `assemblyscript` devDependency).
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

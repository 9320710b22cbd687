import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const SRC = resolve('src');

interface Edge {
  to: string;
  /** Erased by the compiler (`import type`, or only `type` specifiers). */
  typeOnly: boolean;
}

// src/wasm/assembly is AssemblyScript compiled by asc (excluded from tsconfig.json too): its
// imports name files without an extension and never reach the TypeScript module graph.
const ASSEMBLY = resolve('src/wasm/assembly');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (p === ASSEMBLY) return [];
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The relative imports and re-exports of one file, resolved to `.ts` paths. */
function importsOf(file: string): Edge[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const edges: Edge[] = [];
  for (const s of sf.statements) {
    let spec: ts.Expression | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(s)) {
      spec = s.moduleSpecifier;
      const c = s.importClause;
      const named = c?.namedBindings;
      typeOnly =
        c !== undefined &&
        (c.isTypeOnly ||
          (c.name === undefined &&
            named !== undefined &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((e) => e.isTypeOnly)));
    } else if (ts.isExportDeclaration(s) && s.moduleSpecifier) {
      spec = s.moduleSpecifier;
      typeOnly = s.isTypeOnly;
    }
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
    edges.push({ to: resolve(dirname(file), spec.text.replace(/\.js$/, '.ts')), typeOnly });
  }
  return edges;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string) => relative(SRC, f);

/** Each cycle of the directed graph found by depth-first search, as a path of its nodes. */
function cycles<N>(nodes: N[], next: (n: N) => N[]): N[][] {
  const state = new Map<N, 'open' | 'done'>();
  const stack: N[] = [];
  const found: N[][] = [];
  const visit = (n: N) => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of next(n)) {
      if (state.get(m) === 'open') found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of nodes) if (!state.has(n)) visit(n);
  return found;
}

describe('import structure of src/', () => {
  it('reads the imports it checks (the walker is not blind)', () => {
    const tape = join(SRC, 'engine', 'tape.ts');
    const executor = graph.get(join(SRC, 'remat', 'executor.ts'))!;
    assert.ok(executor.some((e) => e.to === tape && !e.typeOnly));
    for (const edges of graph.values())
      for (const e of edges) assert.ok(graph.has(e.to), `${e.to} is imported but not found`);
  });

  it('has no import cycles between files (type-only imports are erased and left out)', () => {
    const found = cycles(files, (f) =>
      graph
        .get(f)!
        .filter((e) => !e.typeOnly)
        .map((e) => e.to),
    );
    assert.deepEqual(
      found.map((c) => c.map(rel).join(' -> ')),
      [],
    );
  });

  it('has no import cycles between the folders of src/ (type imports included)', () => {
    // The package entry points (src/index.ts, src/node.ts) sit above every folder: a worker
    // script may load the barrel to register frugal's layers, so files at the root are left out.
    const folderOf = (f: string) => {
      const parts = rel(f).split('/');
      return parts.length > 1 ? parts[0] : null;
    };
    const deps = new Map<string, Set<string>>();
    for (const [f, edges] of graph) {
      const a = folderOf(f);
      if (a === null) continue;
      for (const e of edges) {
        const b = folderOf(e.to);
        if (b === null || b === a) continue;
        if (!deps.has(a)) deps.set(a, new Set());
        deps.get(a)!.add(b);
      }
    }
    const found = cycles([...deps.keys()], (a) => [...(deps.get(a) ?? [])]);
    const why = (a: string, b: string) =>
      files
        .filter((f) => folderOf(f) === a)
        .flatMap((f) =>
          graph
            .get(f)!
            .filter((e) => folderOf(e.to) === b)
            .map((e) => `${rel(f)} -> ${rel(e.to)}`),
        );
    assert.deepEqual(
      found.map((c) =>
        c.map((n, i) => (i === 0 ? n : `${n} (${why(c[i - 1], n).join(', ')})`)).join(' -> '),
      ),
      [],
    );
  });
});

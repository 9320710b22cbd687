import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';

/** Every module reachable from an entry through relative imports. */
function reachable(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const src = readFileSync(file, 'utf8');
    seen.set(file, src);
    for (const m of src.matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  };
  visit(resolve(entry));
  return seen;
}

describe('package entry points', () => {
  it("'frugal' (browser-safe) reaches no Node built-in and no Node-only package", () => {
    const offenders: string[] = [];
    for (const [file, src] of reachable('src/index.ts')) {
      for (const m of src.matchAll(
        /from\s+'((?:node:|fs|path|os|child_process|worker_threads|cli-)[^']*)'/g,
      )) {
        offenders.push(`${file}: ${m[1]}`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('the exports map lists types first and a Node-only subpath', () => {
    const pkg = JSON.parse(readFileSync(join('package.json'), 'utf8'));
    assert.equal(pkg.type, 'module');
    assert.equal(Object.keys(pkg.exports['.'])[0], 'types');
    assert.equal(Object.keys(pkg.exports['./node'])[0], 'types');
    assert.ok(pkg.exports['./node'].node);
    assert.equal(pkg.exports['./node'].browser, undefined);
    assert.equal(pkg.bin.frugal, './dist/cli/main.js');
  });
});

describe('packaging', () => {
  it('ships a LICENSE and runs no script on a user install', () => {
    const pkg = JSON.parse(readFileSync(join('package.json'), 'utf8'));
    assert.match(readFileSync('LICENSE', 'utf8'), new RegExp(`^${pkg.license} License`));
    assert.ok(pkg.files.includes('LICENSE'));
    // prepare/install scripts run (or warn) when a user installs the packed tarball
    for (const hook of ['prepare', 'preinstall', 'install', 'postinstall']) {
      assert.equal(pkg.scripts[hook], undefined, `scripts.${hook} runs on a user's install`);
    }
    assert.equal(pkg.scripts.prepack, 'npm run build');
  });
});

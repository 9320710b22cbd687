// Every committed bench/results/*.json names its benchmark (a bench/<name>.ts that exists) and
// has a non-empty headline object, the figures computed in that run (bench/lib/results.ts
// writeResults writes both). A result file from before the headline standard fails here.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BENCH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench');
const RESULTS = join(BENCH, 'results');

describe('bench/results', () => {
  const files = readdirSync(RESULTS).filter((f) => f.endsWith('.json'));

  it('holds result files', () => {
    assert.ok(files.length > 0, 'no bench/results/*.json');
  });

  for (const file of files)
    it(`${file} names its bench and has a headline`, () => {
      const json = JSON.parse(readFileSync(join(RESULTS, file), 'utf8')) as Record<string, unknown>;
      const bench = json.bench;
      assert.equal(typeof bench, 'string', `${file}: no 'bench' field`);
      assert.ok(existsSync(join(BENCH, `${bench}.ts`)), `${file}: no bench/${bench}.ts`);
      const name = file.replace(/\.json$/, '');
      assert.ok(
        name === bench || name.startsWith(`${bench}-`),
        `${file}: named neither '${bench}.json' nor '${bench}-<variant>.json'`,
      );
      const headline = json.headline as Record<string, unknown> | undefined;
      assert.ok(
        headline && typeof headline === 'object' && !Array.isArray(headline),
        `${file}: no 'headline' object`,
      );
      assert.ok(Object.keys(headline).length > 0, `${file}: empty headline`);
    });
});

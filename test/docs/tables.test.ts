// The benchmark tables in README.md and docs/*.md are the ones bench/docs-tables.ts generates
// from bench/results/*.json: a figure edited by hand or a rerun benchmark without
// `npm run docs:tables` fails here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  docFiles,
  percent,
  points,
  ratio,
  readDoc,
  regenerate,
  TABLES,
} from '../../bench/docs-tables.js';

describe('docs tables', () => {
  it('every table block matches the committed bench results', () => {
    const seen = new Set<string>();
    for (const file of docFiles()) {
      const text = readDoc(file);
      assert.equal(regenerate(text, seen), text, `${file}: run npm run docs:tables`);
    }
    assert.deepEqual(
      [...seen].sort(),
      Object.keys(TABLES).sort(),
      'every table is placed in a doc',
    );
  });

  it('rejects an unknown table name and formats figures as the docs state them', () => {
    assert.throws(
      () => regenerate('<!-- table:nope -->\nx\n<!-- /table -->'),
      /unknown table 'nope'/,
    );
    assert.equal(ratio(1.774), '1.77x');
    assert.equal(percent(0.25091, 1), '25.1%');
    assert.equal(points(0.1), '0.10 pt');
    assert.equal(ratio(null), 'n/a');
  });

  it('a stale figure is detected', () => {
    const text = readDoc('README.md');
    const stale = text.replace(
      /(<!-- table:features -->\n[^\n]*\n[^\n]*\n\|[^|]*\| )[^|]*/,
      '$1made up ',
    );
    assert.notEqual(stale, text);
    assert.notEqual(regenerate(stale), stale);
  });
});

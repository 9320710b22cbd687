import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { frugal } from './run-cli.js';

const dir = tempDir('frugal-cli-report-');
const fixtures = new URL('../report/fixtures/', import.meta.url).pathname;
const runs = join(dir, 'runs');
mkdirSync(runs);
for (const f of ['train', 'compress', 'plan', 'bench'])
  copyFileSync(join(fixtures, `${f}.json`), join(runs, `${f}.json`));
writeFileSync(join(runs, 'other.json'), JSON.stringify({ hello: 1 }));

describe('frugal report', () => {
  it('writes one page from a directory of runs, skipping (and naming) JSON of another kind', async () => {
    const out = join(dir, 'report.html');
    const r = await frugal`report ${runs} --out ${out} --title ${'my runs'}`;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped '.*other.json' is not a frugal run/);
    assert.match(r.stdout, /wrote .*report.html \(4 runs\)/);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<title>my runs<\/title>/);
    for (const k of ['train', 'compress', 'plan', 'bench'])
      assert.match(html, new RegExp(`data-kind="${k}"`));
  });

  it('refuses a named file of another kind, malformed JSON, a bad --out, and --out equal to an input, writing nothing', async () => {
    const out = join(dir, 'never.html');
    const other = await frugal`report ${join(runs, 'other.json')} --out ${out}`;
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /other.json' is not a frugal run/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"tool": "frugal train", ');
    const bad = await frugal`report ${broken} --out ${out}`;
    assert.match(bad.stderr, /broken.json' is not valid JSON/);
    const missing = await frugal`report ${join(dir, 'nope.json')} --out ${out}`;
    assert.match(missing.stderr, /nope.json' does not exist/);
    assert.equal(existsSync(out), false);
    const toDir = await frugal`report ${runs} --out ${runs}`;
    assert.match(toDir.stderr, /--out '.*runs': is a directory/);
    const self = await frugal`report ${join(runs, 'train.json')} --out ${join(runs, 'train.json')}`;
    assert.match(self.stderr, /is one of the inputs/);
    assert.equal(JSON.parse(readFileSync(join(runs, 'train.json'), 'utf8')).tool, 'frugal train');
  });
});

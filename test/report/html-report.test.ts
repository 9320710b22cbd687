import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { escapeHtml, htmlTable } from '../../src/report/html/page.js';
import { renderReport } from '../../src/report/html/report.js';

const fixture = (name: string) => ({
  source: `runs/${name}.json`,
  json: JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')),
});
const KINDS = ['train', 'compress', 'plan', 'bench'];

/** The text of each <td> of the page, table by table. */
function tables(html: string): string[][] {
  return [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((t) =>
    [...t[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]),
  );
}

describe('frugal report page', () => {
  it("renders every run's tables with the figures of its JSON, and SVG plots of training", () => {
    const runs = KINDS.map(fixture);
    const html = renderReport(runs, { generatedAt: 'T' });
    assert.match(html, /^<!doctype html>/);
    for (const k of KINDS) assert.match(html, new RegExp(`data-kind="${k}"`));
    for (const t of tables(html)) assert.ok(t.length > 0, 'a table without rows');
    const train = runs[0].json;
    // figures appear as the JSON has them (4 significant digits)
    const step = Number(train.result.meanStepMs.toPrecision(4)).toString();
    assert.ok(html.includes(`>${step}<`), `train step ms ${step}`);
    const base = Number(train.baseline.result.meanStepMs.toPrecision(4)).toString();
    assert.ok(html.includes(`>${base}<`), `baseline step ms ${base}`);
    const c = runs[1].json;
    const ratio = c.before.fileBytes / c.after.fileBytes;
    assert.ok(html.includes(`>${Number(ratio.toPrecision(4))}<`), `file-size ratio ${ratio}`);
    assert.ok(html.includes(`>${runs[2].json.stages[0].name}<`));
    assert.equal((html.match(/<svg /g) ?? []).length, 2, 'loss and accuracy plots');
    // a static page: no scripts, no external resources
    assert.doesNotMatch(html, /<script|src=|href="http/);
  });

  it('renders benchmark results: the headline, or the top-level figures when there is none', () => {
    const html = renderReport([
      { source: 'bench/results/x.json', json: { bench: 'x', headline: { fooRatio: 1.5 } } },
      { source: 'bench/results/y.json', json: { bench: 'y', date: 'D', batch: 8 } },
    ]);
    assert.match(html, /benchmark: x/);
    assert.ok(html.includes('<td>fooRatio</td><td class="num">1.5</td>'));
    assert.match(html, /this benchmark writes no headline/);
    assert.ok(html.includes('<td>batch</td><td class="num">8</td>'));
  });

  it('escapes text from the files and shows missing figures as n/a', () => {
    const run = fixture('train');
    run.json.model = '<script>alert(1)</script>';
    run.json.result.meanStepMs = null;
    const html = renderReport([run]);
    assert.doesNotMatch(html, /<script>/);
    assert.ok(html.includes('&lt;script&gt;'));
    assert.ok(html.includes('>n/a<'));
    assert.equal(escapeHtml(`a<b>"c"&'`), 'a&lt;b&gt;&quot;c&quot;&amp;&#39;');
    assert.ok(htmlTable(['x'], [[Number.NaN]]).includes('>n/a<'));
  });

  it('refuses no runs, other JSON and wrong fields, naming the file and the field', () => {
    assert.throws(() => renderReport([]), /no runs given/);
    assert.throws(
      () => renderReport([{ source: 'a.json', json: [1, 2] }]),
      /'a.json' does not hold a JSON object/,
    );
    assert.throws(
      () => renderReport([{ source: 'b.json', json: { tool: 'other' } }]),
      /'b.json' is not a frugal run: .*\(it says 'other'\)/,
    );
    const bad = fixture('compress');
    bad.json.before.accuracy = 'high';
    assert.throws(
      () => renderReport([bad]),
      /'runs\/compress.json': before.accuracy is not a number/,
    );
    const noSteps = fixture('plan');
    delete noSteps.json.stages;
    assert.throws(() => renderReport([noSteps]), /stages is not a list/);
  });
});

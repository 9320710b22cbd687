import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { niceTicks, renderSvgPlot } from '../../src/report/svg-plot.js';

describe('svg plot', () => {
  it('draws every point, labels and escapes text', () => {
    const svg = renderSvgPlot({
      title: 'size <vs> accuracy',
      xLabel: 'size %',
      yLabel: 'acc %',
      series: [
        {
          name: 'a',
          points: [
            { x: 1, y: 2, label: 'p&1' },
            { x: 3, y: 4 },
          ],
          line: true,
        },
        { name: 'b', points: [{ x: 2, y: 3 }] },
      ],
      hGuide: { y: 2.5, label: 'target' },
    });
    assert.match(svg, /^<svg /);
    assert.equal((svg.match(/<circle /g) ?? []).length, 3 + 2);
    assert.match(svg, /size &lt;vs&gt; accuracy/);
    assert.match(svg, /p&amp;1/);
    assert.match(svg, /<path d="M/);
    assert.throws(
      () =>
        renderSvgPlot({
          title: '',
          xLabel: '',
          yLabel: '',
          series: [{ name: 'x', points: [{ x: Number.NaN, y: 1 }] }],
        }),
      /non-finite point/,
    );
  });
  it('ticks are round and cover the range', () => {
    assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
    const t = niceTicks(0.13, 0.97);
    assert.ok(t[0] >= 0.13 && t[t.length - 1] <= 0.97 && t.length >= 4);
  });
});

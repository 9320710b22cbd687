import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linePlotSvg } from '../../src/report/svg-plot.js';

describe('SVG line plot', () => {
  it('draws one polyline per series with a legend, escaping text', () => {
    const svg = linePlotSvg({
      title: 'budget <vs> time',
      xLabel: 'budget',
      yLabel: 'overhead %',
      series: [
        {
          name: 'a&b',
          points: [
            [1, 0],
            [0.5, 10],
            [0.33, 20],
          ],
        },
        {
          name: 'c',
          points: [
            [1, 0],
            [0.5, Number.NaN],
          ],
        },
      ],
    });
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(svg.match(/<polyline/g)?.length, 2);
    assert.equal(svg.match(/<circle/g)?.length, 4, 'non-finite points are skipped');
    assert.match(svg, /<title>budget &#60;vs&#62; time<\/title>/);
    assert.match(svg, /a&#38;b/);
    assert.ok(svg.trim().endsWith('</svg>'));
  });

  it('refuses a plot with no finite points', () => {
    assert.throws(
      () =>
        linePlotSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [] }] }),
      /has no finite points/,
    );
  });
});

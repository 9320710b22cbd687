import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliWords } from './run-cli.js';

describe('the frugal`...` test helper', () => {
  it('splits literal text on whitespace and keeps each value one argument', () => {
    const path = '/tmp/a dir/report.json';
    assert.deepEqual(
      cliWords`train  --model mlp\n --out ${path} --lr=${0.5} --tag ${'x'}${2}.json`,
      [
        'train',
        '--model',
        'mlp',
        '--out',
        '/tmp/a dir/report.json',
        '--lr=0.5',
        '--tag',
        'x2.json',
      ],
    );
    assert.deepEqual(cliWords`${'plan'}`, ['plan']);
  });
});

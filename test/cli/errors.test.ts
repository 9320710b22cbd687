import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorLine, explainError } from '../../src/cli/errors.js';
import { runCli } from './run-cli.js';

describe('one error style across commands', () => {
  it('option-parsing errors and errors from a running command both read "frugal: error: ..."', async () => {
    const parse = await runCli('train', '--epochs', '0');
    assert.match(parse.stderr, /^frugal: error: option '--epochs <n>'/m);
    const missing = await runCli('compress');
    assert.match(missing.stderr, /^frugal: error: missing required argument 'model'/m);
    const run = await runCli('compress', 'no-such-model', '--method', 'int8', '--out', 'x');
    assert.match(run.stderr, /^frugal: error: cannot load model no-such-model/m);
    for (const r of [parse, missing, run]) assert.notEqual(r.code, 0);
  });

  it('explains a kernel that stock tfjs lacks (train --no-fast-kernels on a conv model)', () => {
    const raw = "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'";
    assert.match(explainError(raw), /stock tfjs-backend-wasm has no Conv2DBackpropFilter kernel/);
    assert.match(explainError(raw), /drop --no-fast-kernels/);
    assert.equal(errorLine(new Error('plain')), 'frugal: error: plain');
  });
});

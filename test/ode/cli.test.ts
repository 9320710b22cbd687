import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { odenetOptions } from '../../src/cli/ode-options.js';
import { frugal, trainAndSave } from '../cli/run-cli.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('frugal-ode-cli-');

describe('frugal train --model odenet', () => {
  it('trains with --solver rk2 --solver-u 0.5 --ode-grad adjoint --ode-steps 2 and saves the solver in the model', async () => {
    const { report, modelJson: topology } = await trainAndSave(
      dir,
      '--model odenet --dataset synthetic --train-count 64 --test-count 32 --batch 16 --max-steps 3 --lr 0.01 --solver rk2 --solver-u 0.5 --ode-grad adjoint --ode-steps 2',
    );
    assert.equal(report.model, 'odenet');
    assert.ok(report.result.testAccuracy >= 0);
    assert.match(topology, /"class_name":"FrugalOdeBlock"/);
    assert.match(topology, /"solver":"rk2","u":0.5/);
    assert.match(topology, /"gradient":"adjoint"/);
  });

  it('bad ODE flags fail with a message naming them', async () => {
    const r = await frugal`train --model odenet --dataset synthetic --solver rk2 --solver-u 0`;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /rk2: u must lie in \(0, 1\]/);
    assert.throws(
      () => odenetOptions('cnn', { solver: 'rk2' }),
      /--solver only apply to --model odenet/,
    );
    assert.throws(
      () => odenetOptions('odenet', { odeRtol: 1e-3 }),
      /--ode-rtol only apply to --solver dopri5/,
    );
    assert.throws(
      () => odenetOptions('odenet', { odeNodes: 6, odeGrad: 'adjoint' }),
      /--ode-nodes only applies to --ode-grad irdm/,
    );
    assert.throws(
      () => odenetOptions('odenet', { solver: 'dopri5', odeSteps: 4 }),
      /does not apply to --solver dopri5/,
    );
    assert.deepEqual(odenetOptions('cnn', {}), {});
    assert.deepEqual(
      odenetOptions('odenet', {
        solver: 'rk2',
        solverSmoothing: [0.3, 0.7],
        odeGrad: 'irdm',
        odeNodes: 6,
      }),
      { solve: { solver: 'rk2', gradient: 'irdm', nodes: 6 }, smoothing: { low: 0.3, high: 0.7 } },
    );
  });
});

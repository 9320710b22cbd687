import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actReportCommand } from '../../src/cli/commands/act-report.js';
import { benchCommand } from '../../src/cli/commands/bench.js';
import { planCommand } from '../../src/cli/commands/plan.js';
import { trainCommand } from '../../src/cli/commands/train.js';
import { taskLines } from '../../src/cli/progress-bar.js';

/**
 * Runs `f` with stderr posing as a terminal (`tty` true) or not, and returns what it wrote there
 * (stdout is silenced).
 */
async function stderrOf(tty: boolean, f: () => Promise<unknown>): Promise<string> {
  const wasTTY = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  const write = process.stderr.write;
  const log = console.log;
  let text = '';
  Object.defineProperty(process.stderr, 'isTTY', { value: tty, configurable: true });
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  console.log = () => {};
  try {
    await f();
  } finally {
    process.stderr.write = write;
    console.log = log;
    if (wasTTY) Object.defineProperty(process.stderr, 'isTTY', wasTTY);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
  }
  return text;
}

/** The last drawing of each task line (a line is redrawn in place after '\r'). */
function finalLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.split('\r').pop()!.replaceAll('\x1b[2K', ''))
    .filter((l) => l.length > 0);
}

const plan = {
  model: 'mlp',
  dataset: 'synthetic',
  batch: 8,
  memoryBudget: 1e9,
  optimizer: 'adam' as const,
  backend: 'cpu',
  seed: 0,
  repeats: 1,
};

describe('progress on stderr for long work', () => {
  it('taskLines redraws one line per task and ends it with the time taken', () => {
    let text = '';
    const lines = taskLines(true, { write: (s) => (text += s) });
    lines.onProgress({ task: 'a', done: 0, total: 2 });
    lines.onProgress({ task: 'a', done: 1, total: 2, item: 'x' });
    lines.onProgress({ task: 'b', done: 0, total: 1 });
    lines.stop();
    const [a, b] = finalLines(text);
    assert.equal(
      a,
      `a [${'='.repeat(10)}${' '.repeat(10)}] 1/2 x`,
      'an unfinished task ends at the next one',
    );
    assert.equal(b, `b [${' '.repeat(20)}] 0/1`);
    text = '';
    const done = taskLines(true, { write: (s) => (text += s) });
    done.onProgress({ task: 'c', done: 1, total: 1 });
    done.stop();
    assert.ok(text.endsWith('\n'));
    assert.match(finalLines(text)[0], /^c \[=+\] 1\/1 \(\d+\.\d s\)$/);
    let quiet = '';
    const off = taskLines(false, { write: (s) => (quiet += s) });
    off.onProgress({ task: 'a', done: 1, total: 1 });
    off.stop();
    assert.equal(quiet, '');
  });

  it('plan draws its profiling on a terminal; nothing with --no-progress or off a terminal', async () => {
    // (tfjs may warn on stderr once per process: only task lines are checked)
    const lines = finalLines(await stderrOf(true, () => planCommand(plan))).filter((l) =>
      l.startsWith('profiling'),
    );
    assert.deepEqual(
      lines.map((l) => /\((\w+) chain\)/.exec(l)?.[1]),
      ['blocks', 'layers'],
    );
    for (const l of lines)
      assert.match(l, /^profiling (\d+) stages? \(\w+ chain\) \[=+\] \1\/\1 \S+ \(\d+\.\d s\)$/);
    assert.doesNotMatch(
      await stderrOf(true, () => planCommand({ ...plan, progress: false })),
      /profiling/,
    );
    assert.doesNotMatch(await stderrOf(false, () => planCommand(plan)), /profiling/);
  });

  it("train's setup phases (sensitivity probes, profiling) and bench and act-report draw lines", async () => {
    // One step of a small run, with progress lines.
    const oneStep = { epochs: 1, lr: 1e-3, trainCount: 16, testCount: 8, maxSteps: 1 };
    const quick = { ...plan, ...oneStep, progress: true };
    const train = await stderrOf(true, () => trainCommand({ ...quick, memoryBudget: 1e9 }));
    assert.match(train, /profiling \d+ stages? \(blocks chain\) \[=+\]/);
    const mixed = await stderrOf(true, () =>
      trainCommand({ ...quick, memoryBudget: undefined, actLevel: 'L3.mixed' }),
    );
    assert.match(mixed, /probing the sensitivity of \d+ layers \[=+\] (\d+)\/\1 /);
    const bench = await stderrOf(true, () =>
      benchCommand({ model: 'mlp', backend: 'cpu', batch: 4, steps: 1 }),
    );
    assert.match(bench, /mlp on cpu: 3 training steps \[=+\] 3\/3 timed \(/);
    const act = await stderrOf(true, () =>
      actReportCommand({
        model: 'mlp',
        dataset: 'synthetic',
        batch: 4,
        seeds: 2,
        backend: 'cpu',
        seed: 0,
      }),
    );
    assert.match(act, /4 forward\+backward passes \[=+\] 4\/4 seed 2 \(/);
  });
});

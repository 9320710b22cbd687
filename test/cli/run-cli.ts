import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A finished CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `frugal` CLI from source in a child process; never throws on a non-zero exit. */
export async function runCli(...args: string[]): Promise<CliRun> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      timeout: 120_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * `runCli` with a command line: frugal`train --model mlp --out ${path}`. The literal text splits
 * on whitespace; each interpolated value is one argument (a path with spaces stays whole), or
 * joins the word it is written against (`--lr=${lr}`).
 */
export function frugal(
  strings: TemplateStringsArray,
  ...values: Array<string | number>
): Promise<CliRun> {
  return runCli(...cliWords(strings, ...values));
}

/** The arguments of a frugal`...` command line (see `frugal`). */
export function cliWords(
  strings: TemplateStringsArray,
  ...values: Array<string | number>
): string[] {
  const args: string[] = [];
  let open = false; // the last argument continues: no whitespace after it yet
  strings.forEach((text, i) => {
    text.split(/\s+/).forEach((w, j) => {
      if (w === '') return;
      if (j === 0 && open) args[args.length - 1] += w;
      else args.push(w);
    });
    if (text !== '') open = !/\s$/.test(text);
    if (i === values.length) return;
    if (open && args.length > 0) args[args.length - 1] += String(values[i]);
    else args.push(String(values[i]));
    open = true;
  });
  return args;
}

/** The words of a command line: `words` split on whitespace. */
function splitWords(words: string): string[] {
  return words.split(/\s+/).filter((w) => w !== '');
}

/**
 * `frugal train <words> <more> --out <out>`, asserted to exit 0: the run and its parsed JSON
 * report. `words` splits on whitespace; each of `more` is one argument (a path stays whole).
 */
export async function trainReport(
  out: string,
  words: string,
  ...more: string[]
): Promise<{ run: CliRun; report: any }> {
  const run = await runCli('train', ...splitWords(words), ...more, '--out', out);
  assert.equal(run.code, 0, run.stderr);
  return { run, report: JSON.parse(readFileSync(out, 'utf8')) };
}

/**
 * `frugal train <words> --out <dir>/report.json --save <dir>/model --no-progress`, asserted to
 * exit 0: the run, its parsed JSON report, the saved model's folder and its model.json text.
 */
export async function trainAndSave(
  dir: string,
  words: string,
): Promise<{ run: CliRun; report: any; save: string; modelJson: string }> {
  const save = join(dir, 'model');
  const { run, report } = await trainReport(
    join(dir, 'report.json'),
    words,
    '--save',
    save,
    '--no-progress',
  );
  return { run, report, save, modelJson: readFileSync(join(save, 'model.json'), 'utf8') };
}

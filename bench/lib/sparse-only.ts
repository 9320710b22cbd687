// `npm run bench:sparse-grad -- --only transposable|stochastic|transposableLong|stochasticLong`:
// reruns one paired part
// (bench/lib/sparse-parts.ts) and updates its headline figures and section in
// bench/results/sparse-grad.json, keeping the rest of the full run's figures (partRuns records
// which figures later runs measured, and when). The headline figures of each part are set here
// for the full run too, so both write the same keys.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { envNumber } from './args.js';
import { verdict } from './paired.js';
import { type Headline, RESULTS_DIR, writeResults } from './results.js';
import { mergePart } from './sparse-merge.js';
import {
  type KnownRuns,
  type LongSchedule,
  type PartResult,
  stochasticPart,
  transposablePart,
} from './sparse-parts.js';
import {
  convergedMethods,
  convergedSchedule,
  mergeResnet,
  RESNET_CONVERGED_HOW,
  RESNET_LONG_HOW,
  type ResnetResult,
  resnetHeadline,
  resnetLongSchedule,
  resnetPart,
} from './sparse-resnet.js';
import { transposableVariantsPart, variantsHeadline } from './sparse-variants.js';

/**
 * The schedule of the paired parts: the full run's CNN schedule (SPARSE_BENCH_PAIRED_TRAIN digits,
 * 1 epoch: 80 steps of 64) on SPARSE_BENCH_PAIRED_SEEDS (5) seeds; the `Long` parts run
 * SPARSE_BENCH_LONG_EPOCHS (2) epochs of it, the same seeds (about 13 minutes on the shared
 * 2-core machine, so --only and not in the full run).
 */
export function pairedSchedule(epochs = 1, seeds?: number[]): LongSchedule {
  return {
    train: envNumber('SPARSE_BENCH_PAIRED_TRAIN', 5120),
    test: envNumber('SPARSE_BENCH_TEST', 2000),
    epochs,
    batch: 64,
    seeds: seeds ?? Array.from({ length: envNumber('SPARSE_BENCH_PAIRED_SEEDS', 5) }, (_, i) => i),
  };
}
const LONG_EPOCHS = () => envNumber('SPARSE_BENCH_LONG_EPOCHS', 2);
const RECIPE = { decay: 0.02, rampFraction: 0.75 };
/**
 * The pre-registered confirmatory run of transposable24Long's recipe and schedule (same code, 2
 * epochs, 160 steps): seeds 20-29, fixed on 2026-12-07 at 17:38 UTC (commit fbdff1a) after transposable24Long
 * (seeds 0-9: 0.84 pt, 95% [0.67, 1.004]) and before any run on them. They are not chosen by
 * --seeds (the part refuses it), and no seed is added or dropped after seeing the result.
 */
export const CONFIRM_SEEDS = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29];
export const CONFIRM_REGISTERED = '2026-12-07T17:38Z (commit fbdff1a)';

function pairedKeys(prefix: string, r: PartResult): Headline {
  return {
    [`${prefix}DropPts`]: r.drop.mean,
    [`${prefix}DropSe`]: r.drop.se,
    [`${prefix}DropCi95Lo`]: r.drop.ci95[0],
    [`${prefix}DropCi95Hi`]: r.drop.ci95[1],
    [`${prefix}Seeds`]: r.drop.n,
    [`${prefix}Steps`]: r.schedule.steps,
    [`${prefix}DenseAcc`]: r.denseMeanAccuracy,
    [`${prefix}Verdict`]: `target <= ${r.target}: ${r.verdict}`,
  };
}

const transposableHeadline =
  (prefix: string) =>
  (r: PartResult): Headline => ({
    ...pairedKeys(prefix, r),
    [`${prefix}Method`]: `${r.method}, ${r.schedule.epochs} epoch(s) of ${r.schedule.train} digits, ${r.drop.n} seeds (recipe chosen on seeds 10 and 11)`,
  });
const stochasticHeadline =
  (prefix: string) =>
  (r: PartResult & { zeroFraction?: number }): Headline => ({
    ...pairedKeys(prefix, r),
    [`${prefix}ZeroFraction`]: r.zeroFraction ?? null,
  });

/** A part of the bench that `--only NAME` runs alone. */
export interface Part {
  /** The JSON section that holds its result. */
  section: string;
  /** Runs in the default full run; the others only with --only (the full run keeps their figures). */
  inFullRun: boolean;
  /** Takes --seeds (a paired part: dense against one method, seed by seed). */
  paired: boolean;
  run: (seeds?: number[], known?: KnownRuns[]) => Promise<{ seconds: number }>;
  /** Its headline figures from its result (or the JSON's section of an earlier run). */
  headline: (r: never) => Headline;
  /** How a --seeds run joins the section (default: mergePart, for the paired CNN parts). */
  merge?: (prev: never, now: never) => { result: unknown; note: string; merged?: boolean };
}

export const PARTS: Record<string, Part> = {
  transposable: {
    section: 'transposablePaired',
    inFullRun: true,
    paired: true,
    run: (seeds, known) => transposablePart(pairedSchedule(1, seeds), RECIPE, known),
    headline: transposableHeadline('transposable24'),
  },
  stochastic: {
    section: 'stochasticPaired',
    inFullRun: true,
    paired: true,
    run: (seeds, known) => stochasticPart(pairedSchedule(1, seeds), 0.9, known),
    headline: stochasticHeadline('stochPrune'),
  },
  transposableLong: {
    section: 'transposableLong',
    inFullRun: false,
    paired: true,
    run: (seeds, known) => transposablePart(pairedSchedule(LONG_EPOCHS(), seeds), RECIPE, known),
    headline: transposableHeadline('transposable24Long'),
  },
  stochasticLong: {
    section: 'stochasticLong',
    inFullRun: false,
    paired: true,
    run: (seeds, known) => stochasticPart(pairedSchedule(LONG_EPOCHS(), seeds), 0.9, known),
    headline: stochasticHeadline('stochPruneLong'),
  },
  transposableConfirm: {
    section: 'transposableConfirm',
    inFullRun: false,
    paired: false,
    run: (_seeds, known) =>
      transposablePart(pairedSchedule(LONG_EPOCHS(), CONFIRM_SEEDS), RECIPE, known),
    headline: (r: PartResult): Headline => ({
      ...pairedKeys('transposable24Confirm', r),
      transposable24ConfirmMethod: `pre-registered confirmatory run of transposable24Long (seeds ${CONFIRM_SEEDS[0]}-${CONFIRM_SEEDS[CONFIRM_SEEDS.length - 1]} fixed ${CONFIRM_REGISTERED}, before any run on them; no seed added or dropped after): ${r.method}, ${r.schedule.epochs} epoch(s) of ${r.schedule.train} digits, ${r.drop.n} seeds`,
    }),
  },
  resnet: {
    section: 'resnet',
    inFullRun: false,
    paired: false,
    run: () => resnetPart(),
    // A section of the runs before the part existed (no paired figures) gives no figures.
    headline: (r: ResnetResult): Headline => (r.paired ? resnetHeadline(r) : {}),
  },
  resnetLong: {
    section: 'resnetLong',
    inFullRun: false,
    paired: false,
    run: () => resnetPart(resnetLongSchedule(), undefined, RESNET_LONG_HOW),
    headline: (r: ResnetResult): Headline => resnetHeadline(r, 'resnetLong'),
  },
  resnetConverged: {
    section: 'resnetConverged',
    inFullRun: false,
    paired: true,
    run: (seeds) => resnetPart(convergedSchedule(seeds), convergedMethods(), RESNET_CONVERGED_HOW),
    headline: (r: ResnetResult): Headline => {
      const out = resnetHeadline(r, 'resnetConverged');
      for (const [method, key, target] of [
        ['mvue 1:2', 'Mvue12', 0.5],
        ['mvue 2:4', 'Mvue24', 0.5],
      ] as const) {
        const p = r.paired[method];
        out[`resnetConverged${key}Verdict`] = p
          ? `target <= ${target}: ${verdict(p, target)}`
          : null;
      }
      return out;
    },
    merge: (prev: ResnetResult | undefined, now: ResnetResult) => mergeResnet(prev, now),
  },
  transposableVariants: {
    section: 'transposableVariants',
    inFullRun: false,
    paired: false,
    run: () => transposableVariantsPart(),
    headline: variantsHeadline,
  },
};

/** The JSON's notes: what each headline figure measures (the full run and --only write them). */
export function sparseNotes(c: {
  srSteDecay: number;
  every: number;
  pretrain: number;
  cnnSteps: number;
}): string {
  return (
    "mvue*/magnitude*DropPts: dense minus method test accuracy (points) of the CNN (zoo CNN, filters [8, 16], dense 32; every Dense/Conv2D's weight-gradient product sees the pruned dy, input gradients dense) on MNIST through frugal's train loop, Adam 1e-3, batch 64, " +
    `${c.cnnSteps} steps, mean over 3 seeds (section cnn); each seed gives baseline and method the same init, batch order and schedule. ` +
    'stochPrune* and transposable24Drop*: paired parts (sections stochasticPaired, transposablePaired): dense against one method on 5 seeds (0-4) of the same CNN and schedule, their dense runs on seeds 0-2 shared with the cnn section (stochPruneLong*, transposable24Long*: the same over 2 epochs, 160 steps, sections stochasticLong and transposableLong, run by --only; the Seeds figure of a part says how many seeds, --seeds adds more); DropPts is the mean paired drop, DropSe its standard error, DropCi95Lo/Hi the 95% Student-t interval, Verdict the comparison with the target (0.5 point for stochastic pruning, 1 point for transposable 2:4: met or missed by the mean, decided only when the interval lies on one side). ' +
    'stochPruneZeroFraction: Ye et al. stochastic pruning at p = 0.9, zeros over every pruned entry of those runs (below p: the Gaussian threshold model vs heavy-tailed gradients). ' +
    `transposable24DropPts: transposable 2:4 weight masks (W and W^T both 2:4) on conv2 and dense1, trained by transposable24Method (recipe chosen on seeds 10 and 11, not the bench's seeds). The other transposable24* figures are the 3-seed CNN comparison of section transposableVariants (run by --only transposableVariants, not by the default full run, which keeps them): Fixed: masks from the initial weights, fixed; SrSteRecompute: straight-through with SR-STE decay ${c.srSteDecay}, masks recomputed every ${c.every} steps; Recompute: plain straight-through, recomputed every ${c.every} steps (RecomputeMaskChange: mean fraction of mask entries changed per recompute); Finetune: dense for the first ${c.pretrain} of the ${c.cnnSteps} steps, then masks from the trained weights, fixed. maskDiversity*: masks a 4x4 block can take (Hubara et al.). ` +
    'transposable24Confirm*: the pre-registered confirmatory run of transposable24Long (same recipe and schedule, seeds 20-29 fixed before any run on them; section transposableConfirm, run by --only transposableConfirm). ' +
    'resnet*: the same dense-against-method comparison as the CNN on a small ResNet (resnetModel says which and its schedule, chosen on seeds 10 and 11 with dense only), paired by seed: DropPts the mean drop, DropSe its SE, DropCi95Lo/Hi the 95% t-interval; section resnet, run by --only resnet (bench/lib/sparse-resnet.ts), not by the default full run, which keeps its figures; resnetLong*: the same over 4 epochs, 500 steps (section resnetLong, --only resnetLong). ' +
    "mlp*: the same for a 784-128-10 MLP, 1 seed, own loop. sparseKernel*: JS N:M-compressed product (values + indices) against tf.matMul on the cpu backend with frugal's fast kernels (its register-blocked JS GEMM; sparseKernelSpeedupVsStockCpu: tfjs's stock cpu matMul; sparseKernelSpeedupVsWasm: the wasm backend's matMul), same shapes, same run, median of 7 interleaved rounds on a shared machine (noisy). gradBias*: ||mean of masked dW over draws - dense dW|| / ||dense dW||, x [64,128], dy [64,32] Gaussian, masked along the batch; an unbiased mask shrinks 4x from 16 to 256 draws."
  );
}

/** Reruns one part and updates its figures and section, keeping the rest of the JSON. */
export async function onlyPart(name: string, backend: string, seeds?: number[]): Promise<void> {
  if (!(name in PARTS))
    throw new Error(`--only takes one of ${Object.keys(PARTS).join(', ')}, got '${name}'`);
  const part = PARTS[name];
  if (seeds && !part.paired) throw new Error(`--seeds applies to the paired parts, not ${name}`);
  const file = join(RESULTS_DIR, 'sparse-grad.json');
  const ran = (await part.run(seeds)) as PartResult & { seconds: number };
  // Read after the run, so two --only runs of different parts at once keep each other's figures;
  // the lock keeps two runs that end together from writing over each other.
  const unlock = await lockResults(file);
  try {
    await writePart(file, name, part, ran, backend, seeds);
  } finally {
    unlock();
  }
}

/** Takes a lock (a folder beside `file`; mkdir is atomic) and returns its release. */
async function lockResults(file: string): Promise<() => void> {
  const lock = `${file}.lock`;
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST' || i > 600) throw e;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

async function writePart(
  file: string,
  name: string,
  part: Part,
  ran: PartResult & { seconds: number },
  backend: string,
  seeds: number[] | undefined,
): Promise<void> {
  const prev = JSON.parse(readFileSync(file, 'utf8'));
  // With --seeds, the new seeds join those of the previous run of the part (mergePart checks
  // that the seeds both hold reproduce exactly); without it the run replaces the section.
  const { result: r, merge } = seeds
    ? part.merge
      ? (() => {
          const m = (part.merge as (p: unknown, n: unknown) => { result: unknown; note: string })(
            prev[part.section],
            ran,
          );
          return { result: m.result as PartResult, merge: { note: m.note } };
        })()
      : mergePart(prev[part.section], ran)
    : { result: ran, merge: null };
  if (merge) console.log(`--seeds: ${merge.note}`);
  const { bench: _b, date, headline: prevHeadline, ...rest } = prev;
  // The other --only parts' figures are rebuilt from their sections (the current wording).
  const headline: Headline = { ...prevHeadline, ...carriedParts(prev).headline };
  const figures = (part.headline as (x: typeof r) => Headline)(r);
  Object.assign(headline, figures);
  const path = writeResults('sparse-grad', {
    ...rest,
    headline,
    notes: sparseNotes({
      srSteDecay: 0.02,
      every: 16,
      pretrain: 60,
      cnnSteps: Math.floor(prev.config.cnn.train / prev.config.cnn.batch) * prev.config.cnn.epochs,
    }),
    fullRunDate: prev.fullRunDate ?? date,
    partRuns: {
      ...(prev.partRuns ?? {}),
      [name]: {
        date: new Date().toISOString(),
        backend,
        seconds: ran.seconds,
        ...(seeds ? { seeds } : {}),
        ...(merge ? { merge: merge.note } : {}),
      },
    },
    partRunsNote: `the headline figures and sections of the parts in partRuns were measured by later --only runs (dates there); the other figures come from the full run of ${prev.fullRunDate ?? date}`,
    [part.section]: merge ? { ...r, merge } : r,
  });
  console.log(JSON.stringify(figures, null, 2));
  console.log(`wrote ${path}`);
}

/** The headline figures of part `name` from its result. */
export function partHeadline(name: string, r: unknown): Headline {
  return (PARTS[name].headline as (x: unknown) => Headline)(r);
}

/** The JSON of the last run of the bench, or null where there is none. */
export function previousResults(): Record<string, unknown> | null {
  const file = join(RESULTS_DIR, 'sparse-grad.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

/**
 * What the default full run keeps from the JSON it replaces: the sections, headline figures
 * (recomputed from the sections) and run records of the parts it does not run (`inFullRun`
 * false), so a full run does not drop the --only parts' figures.
 */
export function carriedParts(prev: Record<string, unknown> | null): {
  headline: Headline;
  sections: Record<string, unknown>;
  partRuns: Record<string, unknown>;
} {
  const out = { headline: {} as Headline, sections: {} as Record<string, unknown>, partRuns: {} };
  if (!prev) return out;
  const runs = (prev.partRuns ?? {}) as Record<string, unknown>;
  for (const [name, part] of Object.entries(PARTS)) {
    const section = prev[part.section];
    if (part.inFullRun || !section) continue;
    Object.assign(out.headline, (part.headline as (x: unknown) => Headline)(section));
    out.sections[part.section] = section;
    (out.partRuns as Record<string, unknown>)[name] = runs[name] ?? {
      date: prev.fullRunDate ?? prev.date,
      note: 'from the full run of that date',
    };
  }
  return out;
}

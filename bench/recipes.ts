// Training recipes (issue 14), on the wasm backend with frugal's fast conv-gradient kernels (the
// tfjs cpu backend takes seconds per ResNet step). Every method runs against plain training in the
// same run, interleaved (bench/lib/interleave.ts, bench/lib/budget-race.ts), with the same
// optimizer (Adam, default 3e-3, constant for plain: the default a user gets) and batches.
// Sections, each in bench/lib/recipes-*.ts: haet (60 s and 150 s races), swiftlearn, slbound
// (the ceiling of any importance sampler here), mixsize, batchaug. Each keeps one record per seed and setting: `--only NAME --seeds 3,4` runs those
// seeds of one section and keeps every other record (the file is read again just before it is
// written, so separate runs of different sections or seeds can go at the same time).
// Run: npm run bench:recipes -- --only haet --seeds 1,2,3   (writes bench/results/recipes.json)

import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { argValue, type Headline, hasFlag, RESULTS_DIR, writeResults } from './lib/index.js';
import { fashion, mergeRecords, type Section, type SectionResult } from './lib/recipes-common.js';
import { batchaugSection, mixsizeSection } from './lib/recipes-data.js';
import { haetSection } from './lib/recipes-haet.js';
import { slboundSection } from './lib/recipes-slbound.js';
import { swiftlearnSection } from './lib/recipes-swiftlearn.js';

const SECTIONS = {
  haet: haetSection,
  swiftlearn: swiftlearnSection,
  slbound: slboundSection,
  mixsize: mixsizeSection,
  batchaug: batchaugSection,
} as Record<string, Section<unknown>>;
type SectionName = keyof typeof SECTIONS;

/** The headline keys each section owns (a rerun of the section replaces them all). */
const OWNS: Record<SectionName, (key: string) => boolean> = {
  haet: (k) => k.startsWith('haet') || k.startsWith('plainAcc') || k.startsWith('plainS'),
  swiftlearn: (k) => k.startsWith('swiftlearn'),
  slbound: (k) => k.startsWith('slBound'),
  mixsize: (k) => k.startsWith('mixsize'),
  batchaug: (k) => k.startsWith('batchAug'),
};

/** Top-level keys of earlier layouts of the file, dropped on write (now inside the sections). */
const STALE_KEYS = [
  'batchAug',
  'trainImages',
  'testImages',
  'budgetSeconds',
  'sliceSeconds',
  'benchSeconds',
];

const file = join(RESULTS_DIR, 'recipes.json');
const readFile = (): Record<string, unknown> | undefined =>
  existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;

async function main() {
  const onlyArg = argValue('only', '');
  const names = onlyArg === '' ? Object.keys(SECTIONS) : onlyArg.split(',');
  for (const n of names)
    if (!(n in SECTIONS))
      throw new Error(`--only takes sections from ${Object.keys(SECTIONS).join(', ')}, got '${n}'`);
  await initEngine({ backend: 'wasm' });
  useFastKernels();
  const fresh: Record<string, unknown[]> = {};
  const runs: Record<string, unknown> = {};
  for (const name of names) {
    const t0 = performance.now();
    // --summarize-only: no new records, the figures recomputed from the stored ones.
    fresh[name] = hasFlag('summarize-only') ? [] : await SECTIONS[name].run();
    if (hasFlag('summarize-only')) continue;
    runs[name] = {
      date: new Date().toISOString(),
      seconds: (performance.now() - t0) / 1000,
      loadAverage: loadavg()[0],
      command: `npm run bench:recipes -- ${process.argv.slice(2).join(' ')}`,
    };
  }
  // Read again now: another run may have written its records meanwhile.
  const prev = readFile();
  const headline: Headline = { ...((prev?.headline as Headline | undefined) ?? {}) };
  const sections: Record<string, unknown> = {};
  for (const name of names) {
    const s = SECTIONS[name];
    const all = mergeRecords(s.stored(prev), fresh[name], s.key);
    const r: SectionResult = s.summarize(all);
    for (const k of Object.keys(headline)) if (OWNS[name](k)) delete headline[k];
    Object.assign(headline, r.headline);
    sections[name] = r.section;
  }
  const { bench: _b, date: _d, headline: _h, ...rest } = prev ?? {};
  for (const k of STALE_KEYS) if (k !== 'batchAug' || names.includes('batchaug')) delete rest[k];
  const sectionRuns = { ...((rest.sectionRuns as Record<string, unknown>) ?? {}), ...runs };
  const path = writeResults('recipes', {
    ...rest,
    headline,
    dataset: fashion ? 'fashion-mnist' : 'mnist',
    backend: 'wasm (1 thread) with frugal fast kernels',
    learningRate: 3e-3,
    notes: [
      'a shared 2-core machine (load average in sectionRuns and in each record): timings are noisy; method and plain always run interleaved in the same run',
      'each section keeps one record per seed and setting; sectionRuns has the last run of each section (npm run bench:recipes -- --only NAME --seeds ... reruns some seeds and keeps the others)',
      'training seconds exclude evaluation; SwiftLearn scoring and HAET patch whitening are included',
      "a null ratio means a seed never reached the target accuracy in its run (the *Hits figure says how many did); the *DeltaAtPlain* figures are always measured: the method minus plain at plain's final training time (or step count)",
      'spread figures (Sd, Se, Ci95Lo/Hi): sample sd, standard error and the two-sided 95% Student-t interval of the mean over seeds (bench/lib/paired.ts)',
    ],
    sectionRuns,
    ...sections,
  });
  console.log(path);
}

await main();

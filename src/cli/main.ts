#!/usr/bin/env node
import { errorLine } from './errors.js';
import { buildCli } from './program.js';

try {
  await buildCli().parseAsync(process.argv);
} catch (e) {
  console.error(errorLine(e));
  process.exitCode = 1;
}

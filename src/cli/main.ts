#!/usr/bin/env node
import { buildCli } from './program.js';

try {
  await buildCli().parseAsync(process.argv);
} catch (e) {
  console.error(`frugal: error: ${(e as Error).message}`);
  process.exitCode = 1;
}

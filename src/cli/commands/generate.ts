import { Command, InvalidArgumentError } from 'commander';
import { initEngine } from '../../engine/backend.js';
import { generate } from '../../transformers/lm.js';
import { loadLm } from '../../transformers/lm-files.js';
import { integer, positiveInt } from '../parse.js';
import { backendOption } from '../shared-options.js';

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(`expected a number >= 0, got '${value}'`);
  return n;
}

export interface GenerateCommandOptions {
  model: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  seed: number;
  backend: string;
}

/** `frugal generate`: continues a prompt with a language model saved by `saveLm`; prints it. */
export async function generateCommand(o: GenerateCommandOptions): Promise<string> {
  await initEngine({ backend: o.backend, seed: o.seed });
  const { model, tokenizer } = await loadLm(o.model);
  try {
    const text = generate(model, tokenizer, o.prompt, {
      maxTokens: o.maxTokens,
      temperature: o.temperature,
      seed: o.seed,
    });
    console.log(o.prompt + text);
    return text;
  } finally {
    model.dispose();
  }
}

export function generateCli(): Command {
  return new Command('generate')
    .description(
      'Continue a prompt with a language model saved with its tokenizer (e.g. the GPT of bench:transformers); prints prompt + continuation.',
    )
    .requiredOption('--model <dir>', 'directory (or model.json) of the language model')
    .requiredOption(
      '--prompt <text>',
      'text to continue (every character must be in the vocabulary)',
    )
    .option('--max-tokens <n>', 'tokens to generate', positiveInt, 100)
    .option(
      '--temperature <x>',
      'sampling temperature: 0 = most likely token (default), > 0 samples',
      nonNegativeNumber,
      0,
    )
    .option('--seed <n>', 'random seed of the sampling', integer, 0)
    .addOption(backendOption())
    .action(async (opts) => {
      await generateCommand(opts);
    });
}

/**
 * `phi3 verify FIXTURE_DIR [--json] [--tolerance X]`: checks a fixture folder against its reference
 * logits (DESIGN.md). Exit 0 only when every case and every targeted generate entry passes.
 */
import { Command } from 'commander';
import { DEFAULT_TOLERANCE, formatVerifyReport, resolveKernels, verifyFixture } from '@phi3/model';
import { addKernelsOption, addThreadsOption, oneLineErrors, parseNumber } from '../options.ts';
import { UsageError } from '../run-main.ts';

interface VerifyFlags {
  json?: boolean;
  tolerance: number;
  weights?: string;
  kernels: string;
  threads: number;
}

export function register(program: Command): void {
  const cmd = oneLineErrors(program.command('verify')) // bad flags throw to run-main.ts: exit 2
    .description('compare a fixture folder (config.json, model.safetensors, reference.json) with its reference logits')
    .argument('<fixture_dir>', 'fixture folder')
    .option('--json', 'print one JSON object on stdout')
    .option('--tolerance <x>', 'max |Δlogit| allowed per case', parseNumber, DEFAULT_TOLERANCE)
    .option('--weights <file>', "check a GGUF file's config and weights instead of the fixture's safetensors");
  addThreadsOption(addKernelsOption(cmd)).action(async (dir: string, flags: VerifyFlags) => {
    if (!(flags.tolerance > 0)) throw new UsageError(`--tolerance must be > 0 (got ${flags.tolerance})`);
    const report = await verifyFixture(dir, { tolerance: flags.tolerance, weights: flags.weights, kernels: resolveKernels(flags.kernels), threads: flags.threads });
    process.stdout.write(`${flags.json ? JSON.stringify(report) : formatVerifyReport(report)}\n`);
    if (!report.ok) process.exitCode = 1;
  });
}

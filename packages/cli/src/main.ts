#!/usr/bin/env node
// The `phi3` command: registers subcommands and maps errors to exit codes, nothing else.
//   exit 0 ok · 1 runtime error (bad model file, verify mismatch, ...) · 2 usage error (bad flags/values)
import { Command } from 'commander';
import { runMain } from './run-main.ts';

const program = new Command('phi3')
  .description('Phi-3 family models in pure TypeScript: generate, chat, tokenize, inspect, verify, bench')
  .option('-v, --verbose', 'verbose output (stack traces on errors)');

// Each command module exports `register(program)`; one line per command.
(await import('./commands/verify.ts')).register(program);
(await import('./commands/generate.ts')).register(program);
(await import('./commands/chat.ts')).register(program);
(await import('./commands/inspect.ts')).register(program);
(await import('./commands/bench.ts')).register(program);
(await import('./commands/tokenize.ts')).register(program);
(await import('./commands/convert.ts')).register(program);
(await import('./commands/serve.ts')).register(program);

await runMain(program);

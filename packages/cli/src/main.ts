#!/usr/bin/env node
// The `phi3` command: registers subcommands, nothing else.
import { Command } from 'commander';

const program = new Command('phi3').description('Phi-3 family models in pure TypeScript');
program.command('hello').action(() => console.log('phi3.ts'));
await program.parseAsync(process.argv);

import { Command, CommanderError } from 'commander';
import { Phi3Error, InvalidArgumentError } from '@phi3/model';
import { ShapeError } from '@phi3/tensor';

/** A bad flag value detected by a command (exit code 2, like commander's own usage errors). */
export class UsageError extends Error {}

/**
 * Parses argv and runs the chosen command. Errors become one line on stderr:
 * usage errors exit 2, runtime errors exit 1; `-v` adds the stack trace.
 */
export async function runMain(program: Command, argv: string[] = process.argv): Promise<void> {
  // Subcommands registered before this point do not inherit these settings: apply them to all.
  forEachCommand(program, (cmd) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  });
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  exitQuietlyWhenStdoutCloses();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (help and version exit 0).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const usage = err instanceof UsageError || err instanceof InvalidArgumentError;
    const known = usage || err instanceof Phi3Error || err instanceof ShapeError;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${known ? message : `internal error: ${message}`}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}

/**
 * `phi3 tokenize --jsonl … | head -1`: once the reader of stdout is gone, the next write fails with
 * EPIPE, emitted as an 'error' event that would otherwise crash the process with a stack trace (Node
 * ignores SIGPIPE). Every command stops there quietly with the exit code so far, as `cat | head` does;
 * any other stdout failure is one `error:` line and exit 1.
 */
function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit();
    process.stderr.write(`error: cannot write to stdout: ${err.code ?? err.message}\n`);
    process.exit(1);
  });
}

function forEachCommand(cmd: Command, visit: (c: Command) => void): void {
  visit(cmd);
  for (const sub of cmd.commands) forEachCommand(sub, visit);
}

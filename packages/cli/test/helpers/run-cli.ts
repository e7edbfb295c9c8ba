/**
 * Runs the real `phi3` binary (tsx + packages/cli/src/main.ts) as a child process, the way users do,
 * and collects exit code, stdout and stderr.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const TSX = `${REPO_ROOT}node_modules/.bin/tsx`;
export const MAIN = `${REPO_ROOT}packages/cli/src/main.ts`;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns `phi3 <args>` from `cwd` (default: a directory outside the repo, to prove paths do not depend on it). */
export function runCli(args: readonly string[], options: { stdin?: string; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [MAIN, ...args], { cwd: options.cwd ?? '/tmp', stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/**
 * Drives a command in a real pseudo-terminal with util-linux `script` (present on Debian/Ubuntu
 * base images, unlike tmux): keystrokes written to `script`'s stdin reach the child through the pty,
 * so readline runs in terminal mode and Ctrl-C (\x03) becomes a real SIGINT/keypress.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface PtySession {
  /** Everything the terminal has shown so far (with escape sequences). */
  output(): string;
  /** Sends keystrokes (use '\r' for Enter, '\x03' for Ctrl-C). */
  type(keys: string): void;
  /** Resolves once the visible output (escape sequences removed) matches, after `from` chars; rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** Resolves with the exit code. */
  exited(): Promise<number | null>;
  kill(): void;
}

/** Strips ANSI escape sequences and carriage returns. */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

export function spawnInPty(command: string, cwd: string): PtySession {
  const child: ChildProcessWithoutNullStreams = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TERM: 'xterm', COLUMNS: '120', LINES: '40' },
  });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer): void => {
    out += d.toString('utf8');
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    output: () => out,
    type: (keys) => void child.stdin.write(keys),
    waitFor(pattern, timeoutMs = 30_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const visible = plain(out.slice(from));
          if (!pattern.test(visible)) return false;
          waiters.splice(waiters.indexOf(check), 1);
          clearTimeout(timer);
          resolve(visible);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`timed out waiting for ${pattern}; terminal shows:\n${plain(out.slice(from))}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
    exited: () => exit,
    kill: () => void child.kill(),
  };
}

/**
 * What the CLI prints on stderr besides errors: a load progress bar and the tokens/s report.
 * stdout carries only generated text (or JSON), so `phi3 generate ... | other-tool` stays clean.
 * Both are shown when stderr is a terminal, or with `-v` (then without the bar's carriage returns).
 */

/** Where status output goes and whether to print it. */
export interface StatusOutput {
  readonly stream: NodeJS.WriteStream;
  /** Print anything at all (stderr is a TTY, or -v). */
  readonly enabled: boolean;
  /** Redraw in place with \r (only on a TTY). */
  readonly interactive: boolean;
}

/** Status on stderr: enabled on a TTY or with `verbose`. */
export function stderrStatus(verbose: boolean): StatusOutput {
  const tty = Boolean(process.stderr.isTTY);
  return { stream: process.stderr, enabled: tty || verbose, interactive: tty };
}

/** A one-line progress bar; `update(done, total)` redraws it, `done(message)` replaces it. */
export interface ProgressBar {
  update(done: number, total: number): void;
  done(message: string): void;
}

const BAR_WIDTH = 24;

/** Draws `label [#####.....]  45%` on a TTY; prints only the final message otherwise. */
export function createProgressBar(out: StatusOutput, label: string): ProgressBar {
  let lastDrawn = -1;
  return {
    update(done, total) {
      if (!out.enabled || !out.interactive || total <= 0) return;
      const fraction = Math.min(1, Math.max(0, done / total));
      const percent = Math.floor(fraction * 100);
      if (percent === lastDrawn) return; // redraw at most 101 times
      lastDrawn = percent;
      const filled = Math.round(fraction * BAR_WIDTH);
      out.stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)}%`);
    },
    done(message) {
      if (!out.enabled) return;
      out.stream.write(`${out.interactive ? '\r\x1b[K' : ''}${message}\n`);
    },
  };
}

/** Prints one status line (when enabled). */
export function statusLine(out: StatusOutput, message: string): void {
  if (out.enabled) out.stream.write(`${message}\n`);
}

/** Throughput numbers of one generation (fields of the library's `GenerationStats`). */
export interface SpeedFigures {
  readonly promptTokens: number;
  readonly promptTokensPerSecond: number;
  readonly generatedTokens: number;
  /** Decode steps per second (the first generated token belongs to the prefill). */
  readonly decodeTokensPerSecond: number;
}

/** `prompt: 4 tokens, 812.3 tok/s | generated: 40 tokens, 95.1 tok/s` (llama.cpp's timings line, shortened). */
export function formatSpeed(s: SpeedFigures): string {
  const rate = (r: number): string => (r > 0 ? r.toFixed(1) : '-');
  return (
    `prompt: ${s.promptTokens} tokens, ${rate(s.promptTokensPerSecond)} tok/s | ` +
    `generated: ${s.generatedTokens} tokens, ${rate(s.decodeTokensPerSecond)} tok/s`
  );
}

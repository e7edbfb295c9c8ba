// How the benchmark scripts read their command line, as the phi3 CLI does: -h / --help prints the
// usage (exit 0); a bad flag or value is one line, then the usage (exit 2), never a stack trace.

/**
 * Runs `parse` (parseArgs plus checks that throw Error with a one-line message) and returns its result,
 * or prints the usage and exits as above.
 */
export function parseFlags<R>(usage: string, parse: () => R): R {
  if (process.argv.slice(2).some((arg) => arg === '-h' || arg === '--help')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  try {
    return parse();
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n${usage}\n`);
    process.exit(2);
  }
}

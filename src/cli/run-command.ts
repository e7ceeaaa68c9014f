import { EdgeproofError } from '../core/errors.js';
import type { RunOptions } from './run-options.js';

/** Placeholder: the lead replaces this with the real run. Resolves to the exit code. */
export async function runCommand(options: RunOptions): Promise<number> {
  void options;
  throw new EdgeproofError('INTERNAL', 'run not implemented yet');
}

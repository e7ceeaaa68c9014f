/**
 * A run that holds credentials in a real process, for run-secrets.test.ts:
 * makes the run's SSH key as `edgeproof run` does, says `ready`, then waits
 * to be killed (`waits`) or exits at once without disposing (`exits`, what a
 * second Ctrl-C does).
 *   node --import tsx secrets-child.ts <cacheDir> <runDir> <waits|exits>
 */
import { RunContext } from '../../core/context.js';
import { runSshKey } from '../../emulation/guest/ssh-key.js';

const [cacheDir, runDir, behaviour] = process.argv.slice(2);
const ctx = new RunContext({ cacheDir: cacheDir!, runDir: runDir!, progress: false });
runSshKey(ctx);
process.stdout.write('ready\n');
if (behaviour === 'exits') process.exit(130);
setInterval(() => {}, 1000);

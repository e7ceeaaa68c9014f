// Runs the unit project, then the integration project (real QEMU, real
// cluster). With EDGEPROOF_VITEST_JSON=<dir>, each project also writes a JSON
// report there (CI prints the totals from them).
import { spawnSync } from 'node:child_process';

const jsonDir = process.env.EDGEPROOF_VITEST_JSON;
const extra = process.argv.slice(2);
let status = 0;
for (const project of ['unit', 'integration']) {
  const reporters = jsonDir ? ['--reporter=default', '--reporter=json', `--outputFile.json=${jsonDir}/${project}.json`] : [];
  const result = spawnSync('npx', ['vitest', 'run', '--project', project, ...reporters, ...extra], { stdio: 'inherit' });
  if (result.status !== 0) status = result.status ?? 1;
  if (status !== 0) break;
}
process.exit(status);

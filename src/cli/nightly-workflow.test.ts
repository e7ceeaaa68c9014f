import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const workflow = parse(readFileSync(new URL('../../.github/workflows/nightly.yml', import.meta.url), 'utf8'));
const steps = (job: string): { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }[] => workflow.jobs[job].steps;
const runs = (job: string) => steps(job).map((s) => s.run ?? '').join('\n');

describe('.github/workflows/nightly.yml', () => {
  it('plans, runs a job per shard from the plan, then merges and diffs', () => {
    expect(Object.keys(workflow.jobs)).toEqual(['plan', 'shard', 'merge']);
    expect(runs('plan')).toContain('node bin/edgeproof.js matrix plan --file fixtures/matrix/nightly.yaml');
    expect(workflow.jobs.plan.outputs.matrix).toBe('${{ steps.plan.outputs.matrix }}');
    expect(workflow.jobs.shard.strategy.matrix).toBe('${{ fromJSON(needs.plan.outputs.matrix) }}');
    expect(workflow.jobs.shard['timeout-minutes']).toBe('${{ matrix.timeoutMinutes }}');
    expect(workflow.jobs.merge.if).toBe("always() && needs.plan.result == 'success'");
    expect(runs('merge')).toContain('node bin/edgeproof.js merge shards/* --plan plan/plan.json --out merged');
    expect(runs('merge')).toContain('node bin/edgeproof.js diff previous merged --out merged/diff');
  });

  it('each shard sets up Node 20 and the host, restores the cache keyed by what builds it, runs its script, uploads its results without secrets', () => {
    const shard = steps('shard');
    expect(shard.find((s) => s.uses?.startsWith('actions/setup-node'))?.with?.['node-version']).toBe(20);
    const cache = shard.find((s) => s.uses?.startsWith('actions/cache'))!;
    expect(cache.with?.path).toBe('~/.cache/edgeproof');
    expect(cache.with?.key).toContain("hashFiles('fixtures/build/**', 'fixtures/versions.json')");
    expect(runs('shard')).toContain('node scripts/setup.mjs');
    expect(shard.find((s) => s.env?.SHARD_SCRIPT)?.env?.SHARD_SCRIPT).toBe('${{ matrix.script }}');
    const upload = shard.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    expect(upload.with?.name).toBe('results-${{ matrix.shard }}');
    expect(String(upload.with?.path)).toContain('!results/**/secrets/**');
  });
});

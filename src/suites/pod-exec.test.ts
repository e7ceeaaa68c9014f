import { readFileSync } from 'node:fs';
import type { V1Status } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { exitCodeFromStatus } from './pod-exec.js';

const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/samples/kube/${name}`, import.meta.url), 'utf8')) as V1Status;

describe('exitCodeFromStatus (the kubelet\'s exec status, channel 3)', () => {
  it('reads 0 from Success and the code from a NonZeroExitCode failure', () => {
    expect(exitCodeFromStatus(sample('exec-status-success.json'))).toBe(0);
    expect(exitCodeFromStatus(sample('exec-status-exit-code.json'))).toBe(3);
  });

  it('has no exit code when the command did not run, or the cause is missing or not a number', () => {
    expect(exitCodeFromStatus(sample('exec-status-internal-error.json'))).toBeUndefined();
    expect(exitCodeFromStatus({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [] } })).toBeUndefined();
    expect(exitCodeFromStatus({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: 'x' }] } })).toBeUndefined();
    expect(exitCodeFromStatus({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '' }] } })).toBeUndefined();
    expect(exitCodeFromStatus({})).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { endsOnly, isCheckTask, type Progress } from './progress.js';

describe('endsOnly', () => {
  it('forwards the ends of the selected tasks and nothing else', () => {
    const seen: string[] = [];
    const inner: Progress = { start: (t) => seen.push(`start ${t}`), end: (t, ms, outcome) => seen.push(`end ${t} ${ms} ${outcome}`), info: (m) => seen.push(`info ${m}`) };
    const progress = endsOnly(inner, isCheckTask);
    progress.start('HA-3 non-leader powered off');
    progress.info('guest clocks set');
    progress.end('node Ready', 10, 'ok');
    progress.end('HA-3 non-leader powered off', 42, 'failed');
    expect(seen).toEqual(['end HA-3 non-leader powered off 42 failed']);
  });

  it('tells checks from phases by their ID', () => {
    for (const task of ['HA-3 x', 'MESH-I3 x', 'BM-API-1/pod-get x', 'NET-2/pod-to-pod x', 'CONF-1 quick']) expect(isCheckTask(task), task).toBe(true);
    for (const task of ['node Ready', 'apiserver ready', 'images for arm64', 'BOOT things', 'teardown']) expect(isCheckTask(task), task).toBe(false);
  });
});

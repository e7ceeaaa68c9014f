import { describe, expect, it } from 'vitest';
import { demuxDockerLog } from './container-node.js';

const frame = (stream: 1 | 2, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('demuxDockerLog', () => {
  it('keeps the payload of stdout and stderr frames in order, whatever bytes their sizes are', () => {
    const long = 'x'.repeat(266); // size 0x010a: header bytes that are not text
    expect(demuxDockerLog(Buffer.concat([frame(1, 'init: start\n'), frame(2, `${long}\n`), frame(1, 'init: exit 1\n')]))).toBe(`init: start\n${long}\ninit: exit 1\n`);
  });

  it('ignores a truncated last header', () => {
    expect(demuxDockerLog(Buffer.concat([frame(1, 'ok\n'), Buffer.from([1, 0, 0])]))).toBe('ok\n');
  });
});

import { describe, expect, it } from 'vitest';
import { SshConnection } from './ssh-connection.js';
import { generateSshKey } from './ssh-key.js';

describe('SshConnection.waitFor', () => {
  it('fails at once, not at the end of its budget, when the key does not parse', async () => {
    const { privateKey } = generateSshKey('c');
    const truncated = privateKey.replace(/\n[^\n]+\n-----END/, '\n-----END');
    const started = Date.now();
    const waiting = SshConnection.waitFor({ host: '127.0.0.1', port: 9, username: 'root', privateKey: truncated, where: 'board-0' }, 60_000);
    await expect(waiting).rejects.toThrow(/board-0: the SSH key .* does not parse/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

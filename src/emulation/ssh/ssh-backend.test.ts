import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrerequisiteMissingError, UsageError } from '../../core/errors.js';
import { fixturePath } from '../../core/paths.js';
import { healCommand, listTaggedCommand, partitionCommand, firewallTag } from './firewall.js';
import { assertHostFit, hostFactsCommand, hostProblems, parseHostFacts, type HostRequirements } from './host-checks.js';
import { loadHostsFile, parseHostsFile } from './hosts-file.js';
import { chooseNodeAddress } from './ssh-machine.js';
import { hostListing, listingCommand } from './sync-payloads.js';

const sample = (name: string) => readFileSync(fixturePath('samples', 'ssh', name), 'utf8');
const k3sNeeds: HostRequirements = { systemd: true, snapd: false, minMemoryMiB: 512, memoryCgroup: true, commands: [{ name: 'curl', fix: 'apt-get install curl' }] };
const microk8sNeeds: HostRequirements = { systemd: true, snapd: true, minMemoryMiB: 540, memoryCgroup: true, commands: [{ name: 'snap', fix: 'apt-get install snapd' }] };

describe('hosts file', () => {
  it('reads hosts with defaults, key paths resolved next to the file, ports and power commands', () => {
    const hosts = parseHostsFile(sample('hosts.yaml'), '/bench/hosts.yaml');
    expect(hosts.map((h) => [h.name, h.user, h.port, h.arch, h.role])).toEqual([
      ['pi-1', 'pi', 22, 'arm64', 'control-plane'],
      ['pi-2', 'root', 22, 'arm64', 'worker'],
      ['nuc', 'root', 2222, 'amd64', 'worker'],
    ]);
    expect(hosts[0]).toMatchObject({ keyPath: '/bench/keys/edgeproof', source: '/bench/hosts.yaml:3', hostKeySha256: '3J7tPqVJf8cH0Xn1W0l3i8m4zNwQm7Yl8sC6a1yQe0A' });
    expect(hosts[0]!.powerOff).toMatch(/^snmpset /);
    expect(hosts[1]!.powerOff).toBeUndefined();
    expect(hosts[2]).toMatchObject({ keyPath: '/etc/edgeproof/nuc_ed25519', nodeAddress: '10.0.0.9', ports: { 6443: 16443 }, source: '/bench/hosts.yaml:17' });
  });

  it('names the file, the line and the field of a mistake', () => {
    const text = 'hosts:\n  - name: pi-1\n    address: 10.0.0.1\n    key: k\n    arch: armhf\n    role: control-plane\n';
    expect(() => parseHostsFile(text, 'hosts.yaml')).toThrow(/^hosts\.yaml:5: hosts\[0\]\.arch: Invalid enum value\. Expected 'arm64' \| 'amd64', received 'armhf'$/);
    expect(() => parseHostsFile('hosts:\n  - name: Pi_1\n', 'h.yaml')).toThrow(/^h\.yaml:2: hosts\[0\]\.name: a lowercase DNS label/);
    expect(() => parseHostsFile('hosts:\n  - name: pi-1\n    address: a\n    key: k\n    arch: arm64\n', 'h.yaml')).toThrow(/^h\.yaml:2: hosts\[0\]\.role: Required$/);
    expect(() => parseHostsFile('hosts:\n  - name: pi-1\n    adress: a\n', 'h.yaml')).toThrow(expect.objectContaining({ message: 'h.yaml:3: hosts[0]: unknown field "adress"', hint: expect.stringContaining('address, port, user, key') }));
    expect(() => parseHostsFile('hosts: [\n', 'h.yaml')).toThrow(/^h\.yaml:\d+: not valid YAML/);
    expect(() => parseHostsFile('hosts: []\n', 'h.yaml')).toThrow(/at least one host/);
  });

  it('refuses duplicate names or addresses and a file without a control plane', () => {
    const host = (name: string, address: string, role = 'control-plane') => `  - { name: ${name}, address: ${address}, key: k, arch: arm64, role: ${role} }\n`;
    expect(() => parseHostsFile(`hosts:\n${host('a', '10.0.0.1')}${host('a', '10.0.0.2')}`, 'h.yaml')).toThrow('h.yaml:3: host "a" has the same name as "a" (h.yaml:2)');
    expect(() => parseHostsFile(`hosts:\n${host('a', '10.0.0.1')}${host('b', '10.0.0.1')}`, 'h.yaml')).toThrow(/same address and port/);
    expect(() => parseHostsFile(`hosts:\n${host('a', '10.0.0.1', 'worker')}`, 'h.yaml')).toThrow(/no host has role control-plane/);
  });

  it('refuses an address or nodeAddress that could carry shell, config or certificate syntax, naming the host and the field', () => {
    const file = (fields: string) => `hosts:\n  - name: pi-1\n    key: k\n    arch: arm64\n    role: control-plane\n${fields}`;
    for (const hostile of ['10.0.0.1; rm -rf /', '$(id)', '10.0.0.1\nreboot', '`reboot`', '10.0.0.1,DNS:evil', 'pi-1.lan:22']) {
      const yaml = JSON.stringify(hostile);
      expect(() => parseHostsFile(file(`    address: 10.0.0.1\n    nodeAddress: ${yaml}\n`), 'h.yaml')).toThrow(
        expect.objectContaining({ code: 'USAGE', message: `h.yaml:7: host "pi-1": nodeAddress ${yaml} is not an IPv4 address`, hint: expect.stringContaining('IPv4 address the other nodes reach pi-1 at') }),
      );
      expect(() => parseHostsFile(file(`    address: ${yaml}\n`), 'h.yaml')).toThrow(
        expect.objectContaining({ code: 'USAGE', message: `h.yaml:6: host "pi-1": address ${yaml} is neither an IPv4 address nor a host name` }),
      );
    }
    expect(() => parseHostsFile(file('    address: 10.0.0.1\n    nodeAddress: pi-1.lan\n'), 'h.yaml')).toThrow('nodeAddress "pi-1.lan" is not an IPv4 address');
    expect(parseHostsFile(file('    address: pi-1.lan\n    nodeAddress: 10.0.0.5\n'), 'h.yaml')[0]).toMatchObject({ address: 'pi-1.lan', nodeAddress: '10.0.0.5' });
  });

  describe('key files', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'ep-hosts-'));
      mkdirSync(join(dir, 'keys'));
      // OpenSSH's own keys: ssh2's generator makes a malformed ed25519 key about one time in 256.
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'keys', 'plain')]);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', join(dir, 'keys', 'locked')]);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (key: string) => {
      const path = join(dir, `hosts-${key}.yaml`);
      writeFileSync(path, `hosts:\n  - { name: pi-1, address: 10.0.0.1, key: keys/${key}, arch: arm64, role: control-plane }\n`);
      return path;
    };

    it('accepts an unencrypted key and refuses a missing or passphrase-protected one with the fix', () => {
      expect(loadHostsFile(file('plain'))[0]!.keyPath).toBe(join(dir, 'keys', 'plain'));
      expect(() => loadHostsFile(file('absent'))).toThrow(expect.objectContaining({ message: expect.stringMatching(/host "pi-1": key .*keys\/absent does not exist/), hint: expect.stringContaining('ssh-copy-id') }));
      expect(() => loadHostsFile(file('locked'))).toThrow(expect.objectContaining({ message: expect.stringMatching(/cannot be used: Encrypted private OpenSSH key/), hint: expect.stringContaining("-N ''") }));
      expect(() => loadHostsFile(join(dir, 'none.yaml'))).toThrow(/--hosts .*none\.yaml does not exist/);
    });
  });
});

describe('host prerequisites', () => {
  it('reads the probe output of a real host (this Debian machine, run without systemd)', () => {
    const facts = parseHostFacts(sample('facts-debian-amd64-no-systemd.txt'));
    expect(facts).toMatchObject({ machine: 'x86_64', arch: 'amd64', cgroupVersion: 1, memoryController: true, systemd: false, privilege: 'root', commands: { curl: true, snap: false } });
    expect(hostProblems(facts, k3sNeeds).map((p) => p.what)).toEqual(['systemd as PID 1']);
  });

  it('says what a Raspberry Pi OS board lacks, with the fixes', () => {
    const facts = parseHostFacts(sample('facts-rpi4-raspios.txt'));
    expect(facts).toMatchObject({ arch: 'arm64', memTotalMiB: 3793, cgroupVersion: 2, memoryController: false, privilege: 'sudo', defaultAddress: '192.168.1.50' });
    const host = { name: 'pi-1', target: 'pi@192.168.1.50:22', source: 'hosts.yaml:3', arch: 'arm64' as const };
    let error: unknown;
    try {
      assertHostFit(host, facts, microk8sNeeds);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PrerequisiteMissingError);
    expect((error as PrerequisiteMissingError).message).toBe('on host "pi-1" (pi@192.168.1.50:22): the memory cgroup controller; snapd; the command snap is missing');
    expect((error as PrerequisiteMissingError).hint).toContain('cgroup_memory=1 cgroup_enable=memory');
  });

  it('refuses too little memory and a wrong architecture, naming the host and the fix', () => {
    const pi3 = parseHostFacts(sample('facts-rpi3-ubuntu.txt'));
    const host = { name: 'pi-3', target: 'root@192.168.1.51:22', source: 'hosts.yaml:9', arch: 'arm64' as const };
    expect(() => assertHostFit(host, pi3, { ...k3sNeeds, minMemoryMiB: 1024 })).toThrow('on host "pi-3" (root@192.168.1.51:22): 1024 MiB of memory (has 903 MiB) is missing');
    expect(() => assertHostFit(host, pi3, microk8sNeeds)).not.toThrow();
    const amd = parseHostFacts(sample('facts-debian-amd64-no-systemd.txt'));
    expect(() => assertHostFit(host, amd, k3sNeeds)).toThrow(UsageError);
    expect(() => assertHostFit(host, amd, k3sNeeds)).toThrow(expect.objectContaining({ message: 'Host "pi-3" (root@192.168.1.51:22) is x86_64, but hosts.yaml:9 says arch: arm64', hint: 'set arch: amd64 for pi-3 in hosts.yaml:9, or use a arm64 board' }));
  });

  it('takes the node address from the hosts file, else the host\'s report, and refuses a report that is not an IPv4 address', () => {
    const host = { name: 'pi-1', source: 'hosts.yaml:3' };
    const reporting = (address: string) => parseHostFacts(sample('facts-rpi4-raspios.txt').replace(/^@@fact defaultaddr .*$/m, `@@fact defaultaddr ${address}`));
    expect(chooseNodeAddress(host, reporting('192.168.1.77'), '192.168.1.50')).toBe('192.168.1.77');
    expect(chooseNodeAddress({ ...host, nodeAddress: '10.0.0.5' }, reporting('$(id)'), '192.168.1.50')).toBe('10.0.0.5');
    expect(chooseNodeAddress(host, parseHostFacts(''), '192.168.1.50')).toBe('192.168.1.50');
    for (const hostile of ['10.0.0.1; rm -rf /', '$(id)', '10.0.0.1`reboot`']) {
      expect(() => chooseNodeAddress(host, reporting(hostile), '192.168.1.50')).toThrow(
        expect.objectContaining({ code: 'INPUT', message: expect.stringContaining(`host "pi-1" reported ${JSON.stringify(hostile)} as the source address of its default route`), hint: expect.stringContaining('set nodeAddress: for pi-1 at hosts.yaml:3') }),
      );
    }
  });

  it('the probe runs in a POSIX shell and reads this host', () => {
    const output = execFileSync('sh', ['-c', hostFactsCommand(['sh', 'edgeproof-no-such-command'])], { encoding: 'utf8' });
    const facts = parseHostFacts(output);
    expect(facts.machine).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
    expect(facts.memTotalMiB).toBeGreaterThan(0);
    expect(facts.commands).toEqual({ sh: true, 'edgeproof-no-such-command': false });
    expect(facts.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  });
});

describe('partition rules', () => {
  const tag = firewallTag('1234abcd');

  it('tags every iptables rule with the run and heals by deleting exactly those', () => {
    expect(partitionCommand('iptables', tag, ['10.0.0.12'])).toBe(
      'iptables -w -I INPUT -s 10.0.0.12 -m comment --comment ep-1234abcd -j DROP && iptables -w -I OUTPUT -d 10.0.0.12 -m comment --comment ep-1234abcd -j DROP',
    );
    expect(healCommand('iptables', tag)).toBe(
      `for chain in INPUT OUTPUT; do iptables -w -S "$chain" | grep -- '--comment ep-1234abcd ' | sed 's/^-A /-D /' | while read -r rule; do iptables -w $rule || exit 1; done; done`,
    );
    expect(listTaggedCommand('iptables', tag)).toBe("iptables -w -S | grep -- '--comment ep-1234abcd ' || true");
  });

  it('uses a table of the run\'s own with nftables, deleted whole', () => {
    expect(partitionCommand('nft', tag, ['10.0.0.12', 'fd00::2'])).toBe(
      "nft add table inet ep_1234abcd && nft 'add chain inet ep_1234abcd input { type filter hook input priority -5 ; }' && nft 'add chain inet ep_1234abcd output { type filter hook output priority -5 ; }' && nft add rule inet ep_1234abcd input ip saddr 10.0.0.12 drop && nft add rule inet ep_1234abcd output ip daddr 10.0.0.12 drop && nft add rule inet ep_1234abcd input ip6 saddr fd00::2 drop && nft add rule inet ep_1234abcd output ip6 daddr fd00::2 drop",
    );
    expect(healCommand('nft', tag)).toBe('nft list table inet ep_1234abcd >/dev/null 2>&1 && nft delete table inet ep_1234abcd || true');
  });

  it('refuses peers that are not addresses (they would be shell words)', () => {
    expect(() => partitionCommand('iptables', tag, ['10.0.0.1; reboot'])).toThrow(UsageError);
    expect(() => firewallTag('ab-cd')).toThrow(UsageError);
  });
});

describe('payload sync listing', () => {
  it('lists a directory the same way on the host and through the node command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-sync-'));
    try {
      mkdirSync(join(dir, 'bin'));
      writeFileSync(join(dir, 'bin', 'kubelet'), 'x'.repeat(10));
      writeFileSync(join(dir, 'a.tar'), 'abc');
      expect(hostListing(dir)).toBe('a.tar 3\nbin/kubelet 10');
      expect(execFileSync('sh', ['-c', listingCommand(dir)], { encoding: 'utf8' }).trim()).toBe(hostListing(dir));
      expect(execFileSync('sh', ['-c', `${listingCommand(join(dir, 'absent'))} || true`], { encoding: 'utf8' }).trim()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

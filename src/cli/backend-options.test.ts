import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { generateSshKey } from '../emulation/guest/ssh-key.js';
import { parseBackendOptions } from './backend-options.js';
import { parseTopology } from '../cluster/topology.js';

const arm = { arch: 'arm64' as const };

describe('--topology', () => {
  it('reads control planes and workers', () => {
    expect(parseTopology('1')).toEqual({ controlPlanes: 1, workers: 0 });
    expect(parseTopology('3+2')).toEqual({ controlPlanes: 3, workers: 2 });
    for (const bad of ['0', '+1', '3+', 'three', '1+-1']) expect(() => parseTopology(bad), bad).toThrow(UsageError);
  });
});

describe('backend and distribution flags', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ep-backend-'));
    mkdirSync(join(dir, 'airgap'));
    for (const name of ['k3s-arm64', 'k3s-airgap-images-arm64.tar.zst', 'install.sh']) writeFileSync(join(dir, 'airgap', name), 'x');
    mkdirSync(join(dir, 'airgap-incomplete'));
    writeFileSync(join(dir, 'airgap-incomplete', 'install.sh'), '');
    // Not ssh2's generator: it makes a malformed ed25519 key about one time in 256.
    writeFileSync(join(dir, 'id'), generateSshKey('test').privateKey, { mode: 0o600 });
    writeFileSync(
      join(dir, 'hosts.yaml'),
      `hosts:\n  - { name: w-1, address: 10.0.0.2, key: id, arch: arm64, role: worker }\n  - { name: cp-1, address: 10.0.0.1, key: id, arch: arm64, role: control-plane }\n`,
    );
    writeFileSync(
      join(dir, 'kubeconfig'),
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: { server: "https://10.0.0.1:6443" }\ncontexts:\n- name: lab\n  context: { cluster: c, user: u }\ncurrent-context: lab\nusers:\n- name: u\n  user: { token: t }\n',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to upstream on qemu, one node', () => {
    expect(parseBackendOptions({}, arm)).toEqual({ backend: 'qemu', distro: 'upstream', distroOptions: {}, topology: { controlPlanes: 1, workers: 0 } });
  });

  it('passes version, channel and air-gap directory to the driver, validated for the board\'s arch and topology', () => {
    expect(parseBackendOptions({ distro: 'k3s', version: 'v1.31.2+k3s1', airgap: join(dir, 'airgap'), topology: '3+1' }, arm)).toMatchObject({
      distro: 'k3s',
      distroOptions: { version: 'v1.31.2+k3s1', airgapDir: join(dir, 'airgap') },
      topology: { controlPlanes: 3, workers: 1 },
    });
    expect(() => parseBackendOptions({ distro: 'k3s', topology: '2' }, arm)).toThrow(/odd number of servers/);
    expect(() => parseBackendOptions({ distro: 'microk8s', channel: '1.24-strict/stable' }, arm)).toThrow(/strict confinement starts with 1\.25/);
    expect(() => parseBackendOptions({ distro: 'minikube', version: 'v1.16.0', topology: '1+1' }, arm)).toThrow(/no docker driver for arm64/);
    expect(() => parseBackendOptions({ distro: 'minikube', version: 'v1.16.0', topology: '1+1' }, { arch: 'amd64' })).not.toThrow();
    expect(() => parseBackendOptions({ distro: 'upstream', topology: '2+1' }, arm)).toThrow(/even member count/);
    expect(parseBackendOptions({ distro: 'upstream', topology: '3+1' }, arm).topology).toEqual({ controlPlanes: 3, workers: 1 });
    expect(() => parseBackendOptions({ distro: 'k3s', airgap: join(dir, 'nope') }, arm)).toThrow(/--airgap .* is not a directory/);
    expect(() => parseBackendOptions({ distro: 'k3sx' }, arm)).toThrow(/Unknown distribution "k3sx" for --distro/);
    expect(() => parseBackendOptions({ backend: 'vagrant' }, arm)).toThrow(/Unknown backend "vagrant" for --backend/);
  });

  it('--airgap: every file the driver reads must be there before anything starts (exit 2, naming the file and `edgeproof images`)', () => {
    const incomplete = join(dir, 'airgap-incomplete');
    const error = (() => {
      try {
        parseBackendOptions({ distro: 'k3s', version: 'v1.31.2+k3s1', airgap: incomplete }, arm);
      } catch (e) {
        return e as UsageError;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error!.message).toBe(`--airgap ${incomplete} lacks what an offline k3s install needs: k3s-arm64 (k3s binary), k3s-airgap-images-arm64.tar.zst (air-gap images)`);
    expect(error!.hint).toContain('`edgeproof images --distro k3s --version v1.31.2+k3s1 --arch arm64` lists every file and image the run needs');
    for (const name of ['k3s-arm64', 'k3s-airgap-images-arm64.tar.zst']) writeFileSync(join(incomplete, name), 'x');
    expect(() => parseBackendOptions({ distro: 'k3s', version: 'v1.31.2+k3s1', airgap: incomplete }, arm)).toThrow(`--airgap ${incomplete} is malformed: install.sh (the install script) is empty`);
    expect(() => parseBackendOptions({ distro: 'microk8s', airgap: incomplete }, { arch: 'amd64' })).toThrow(/lacks what an offline microk8s install needs: microk8s\.snap \(microk8s\.snap\), microk8s\.assert/);
    // Upstream reads nothing from the directory: accepted, and the run proves it offline.
    expect(parseBackendOptions({ airgap: incomplete }, arm).distroOptions).toEqual({ airgapDir: incomplete });
  });

  it('ssh: needs --hosts, takes the topology from the hosts (control planes first), refuses a contradicting --topology', () => {
    expect(() => parseBackendOptions({ backend: 'ssh' }, arm)).toThrow('--backend ssh needs --hosts FILE');
    const options = parseBackendOptions({ backend: 'ssh', hosts: join(dir, 'hosts.yaml'), distro: 'k3s' }, arm);
    expect(options.topology).toEqual({ controlPlanes: 1, workers: 1 });
    expect(options.hosts?.map((h) => h.name)).toEqual(['cp-1', 'w-1']);
    expect(() => parseBackendOptions({ backend: 'ssh', hosts: join(dir, 'hosts.yaml'), topology: '3' }, arm)).toThrow(/does not match .*hosts\.yaml: its hosts make 1\+1/);
    expect(parseBackendOptions({ backend: 'ssh', hosts: join(dir, 'hosts.yaml'), distro: 'upstream' }, arm).topology).toEqual({ controlPlanes: 1, workers: 1 });
    expect(() => parseBackendOptions({ hosts: join(dir, 'hosts.yaml') }, arm)).toThrow('--hosts applies to --backend ssh only');
  });

  it('existing: needs --kubeconfig, checks the context, refuses what would install or shape a cluster', () => {
    expect(() => parseBackendOptions({ backend: 'existing' }, arm)).toThrow('--backend existing needs --kubeconfig FILE');
    expect(parseBackendOptions({ backend: 'existing', kubeconfig: join(dir, 'kubeconfig'), context: 'lab' }, arm)).toMatchObject({ backend: 'existing', kubeconfig: join(dir, 'kubeconfig'), context: 'lab' });
    expect(() => parseBackendOptions({ backend: 'existing', kubeconfig: join(dir, 'kubeconfig'), context: 'prod' }, arm)).toThrow(/has no context "prod"/);
    expect(() => parseBackendOptions({ backend: 'existing', kubeconfig: join(dir, 'absent') }, arm)).toThrow(/does not exist/);
    expect(() => parseBackendOptions({ backend: 'existing', kubeconfig: join(dir, 'kubeconfig'), topology: '3+2' }, arm)).toThrow(/--topology 3\+2 does not apply to --backend existing/);
    expect(() => parseBackendOptions({ backend: 'existing', kubeconfig: join(dir, 'kubeconfig'), distro: 'k3s' }, arm)).toThrow(/--distro k3s does not apply/);
    expect(() => parseBackendOptions({ backend: 'existing', kubeconfig: join(dir, 'kubeconfig'), version: 'v1.2.3' }, arm)).toThrow(/--version does not apply/);
    expect(() => parseBackendOptions({ kubeconfig: join(dir, 'kubeconfig') }, arm)).toThrow('--kubeconfig applies to --backend existing only');
    expect(() => parseBackendOptions({ context: 'lab' }, arm)).toThrow('--context applies to --backend existing only');
  });
});

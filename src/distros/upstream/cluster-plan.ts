import { isIPv4 } from 'node:net';
import { EdgeproofError } from '../../core/errors.js';
import type { Arch } from '../../emulation/boards.js';
import type { BackendName } from '../../emulation/machine.js';
import type { NodeRole, Topology } from '../../cluster/distribution.js';

export const API_PORT = 6443;
/** Workers' local apiserver load balancer (haproxy) in HA topologies. */
export const LOCAL_LB_PORT = 6444;
export const SERVICE_CIDR = '10.96.0.0/12';
export const CLUSTER_CIDR = '10.244.0.0/16';
export const SERVICE_IP = '10.96.0.1';

/** What the plan needs to know of a started machine. */
export interface MachineFacts {
  name: string;
  address: string;
  arch: Arch;
  backend: BackendName;
  cgroupRoot: string;
}

/** One node of the cluster as data: every per-node setting the configuration files need. */
export interface PlannedNode {
  name: string;
  role: NodeRole;
  index: number;
  address: string;
  arch: Arch;
  podCidr: string;
  /** The node's end of the pod overlay: its VXLAN device's MAC and address (10.244.i.0). */
  overlayMac: string;
  overlayAddress: string;
  /** The apiserver this node's kubelet and kube-proxy talk to. */
  apiServerUrl: string;
  /** ep-supervise's cgroup for the distribution's services on this node. */
  servicesCgroup: string;
  /** Set in a node container sharing the host's cgroup hierarchy; empty on a VM or board. */
  kubeletCgroupRoot: string;
  inContainer: boolean;
}

export interface ClusterPlan {
  nodes: PlannedNode[];
  controlPlanes: PlannedNode[];
  workers: PlannedNode[];
  /** More than one control plane: a multi-member etcd and leader election. */
  ha: boolean;
  /** etcd's --initial-cluster: every control plane's peer URL. */
  etcdInitialCluster: string;
  clusterCidr: string;
  serviceCidr: string;
}

/**
 * Turns started machines into a cluster plan: the first `controlPlanes`
 * machines are control planes, the rest workers; node i gets pod CIDR
 * 10.244.i.0/24, reached from the other nodes through a VXLAN overlay on the
 * private network (see overlayScript).
 */
export function planCluster(machines: MachineFacts[], topology: Topology): ClusterPlan {
  machines.forEach(checkNodeIdentity);
  const ha = topology.controlPlanes > 1;
  const cpAddresses = machines.slice(0, topology.controlPlanes).map((m) => m.address);
  const nodes = machines.map((machine, index): PlannedNode => {
    const role: NodeRole = index < topology.controlPlanes ? 'control-plane' : 'worker';
    const inContainer = machine.backend === 'container';
    return {
      name: machine.name,
      role,
      index,
      address: machine.address,
      arch: machine.arch,
      podCidr: `10.244.${index}.0/24`,
      // Locally administered unicast, derived from the index: peers program it without asking.
      overlayMac: `0a:58:0a:f4:${index.toString(16).padStart(2, '0')}:00`,
      overlayAddress: `10.244.${index}.0`,
      apiServerUrl: workerApiServer(role, ha, cpAddresses[0]!),
      servicesCgroup: machine.cgroupRoot ? `${machine.cgroupRoot}/services` : 'edgeproof.services',
      kubeletCgroupRoot: machine.cgroupRoot ? `/${machine.cgroupRoot}` : '',
      inContainer,
    };
  });
  const controlPlanes = nodes.filter((n) => n.role === 'control-plane');
  return {
    nodes,
    controlPlanes,
    workers: nodes.filter((n) => n.role === 'worker'),
    ha,
    etcdInitialCluster: controlPlanes.map((n) => `${n.name}=https://${n.address}:2380`).join(','),
    clusterCidr: CLUSTER_CIDR,
    serviceCidr: SERVICE_CIDR,
  };
}

/** A DNS-1123 subdomain, as Kubernetes requires of node names. */
const NODE_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Names and addresses go into every node's root start-up script, etcd's
 * flags, haproxy's configuration and the certificates: whatever a backend or
 * a board reported, only a node name and an IPv4 address get that far.
 */
function checkNodeIdentity(machine: MachineFacts): void {
  if (!NODE_NAME.test(machine.name)) {
    throw new EdgeproofError('INPUT', `node name ${JSON.stringify(machine.name)} is not a Kubernetes node name (a lowercase DNS-1123 subdomain)`, { hint: 'name the node with lowercase letters, digits, dashes and dots' });
  }
  if (!isIPv4(machine.address)) {
    throw new EdgeproofError('INPUT', `node "${machine.name}" (${machine.backend} backend): address ${JSON.stringify(machine.address)} is not an IPv4 address`, {
      hint: machine.backend === 'ssh' ? 'set nodeAddress: for this host in the hosts file to the IPv4 address the other nodes reach it at' : 'the backend reported it: this is a bug, please report it',
    });
  }
}

/** Control planes use their own apiserver; workers the only one, or their local load balancer over all of them. */
function workerApiServer(role: NodeRole, ha: boolean, firstControlPlane: string): string {
  if (role === 'control-plane') return `https://127.0.0.1:${API_PORT}`;
  return ha ? `https://127.0.0.1:${LOCAL_LB_PORT}` : `https://${firstControlPlane}:${API_PORT}`;
}

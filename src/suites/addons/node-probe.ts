/**
 * What a node can offer an addon, read with one shell script per node
 * through its Machine handle (the script is data; the parser is tested on
 * real output). KVM is proven the way QEMU and Kata find it: open /dev/kvm
 * read-write and issue KVM_GET_API_VERSION and KVM_CREATE_VM (ioctls 0xAE00
 * and 0xAE01, linux/kvm.h), through perl, which Debian's minimal systems carry.
 */
export const NODE_PROBE_SCRIPT = String.raw`
echo "arch=$(uname -m)"
echo "kernel=$(uname -r)"
if [ -e /dev/kvm ]; then
  echo "kvm_dev=present"
  if command -v perl >/dev/null 2>&1; then
    out=$(perl -e 'open(my $f, "+<", "/dev/kvm") or die "open /dev/kvm: $!\n"; my $v = ioctl($f, 0xAE00, 0); defined $v or die "KVM_GET_API_VERSION: $!\n"; my $vm = ioctl($f, 0xAE01, 0); defined $vm or die "KVM_CREATE_VM: $!\n"; print "api=", ($v eq "0 but true" ? 0 : $v), "\n";' 2>&1) && echo "kvm_create_vm=ok $out" || echo "kvm_create_vm=failed $out"
  else
    [ -r /dev/kvm ] && [ -w /dev/kvm ] && echo "kvm_create_vm=unverified rw" || echo "kvm_create_vm=failed not readable and writable"
  fi
else
  echo "kvm_dev=absent"
fi
grep -qE '(vmx|svm)' /proc/cpuinfo 2>/dev/null && echo "cpu_virt_flags=yes" || echo "cpu_virt_flags=no"
echo "hugepages_2m_total=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null || echo 0)"
echo "hugepages_2m_free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)"
pidof iscsid >/dev/null 2>&1 && echo "iscsid=running" || echo "iscsid=absent"
for m in $MODULES; do
  d=$(echo "$m" | tr _ -)
  if [ -d "/sys/module/$m" ]; then echo "module.$m=loaded"
  elif grep -qE "/($m|$d)\.ko" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; then echo "module.$m=builtin"
  elif modinfo "$m" >/dev/null 2>&1 || modprobe -n "$m" >/dev/null 2>&1; then echo "module.$m=available"
  else echo "module.$m=absent"; fi
done
if command -v snap >/dev/null 2>&1; then
  snap list microk8s 2>&1 | tail -n +2 | sed 's/^/snap_microk8s=/' | head -1 | grep . || echo "snap_microk8s=absent"
else
  echo "snap_microk8s=no snapd"
fi
`;

export function nodeProbeCommand(modules: string[]): string {
  return `MODULES='${modules.filter((m) => /^[A-Za-z0-9_-]+$/.test(m)).join(' ')}' sh -c ${shellQuoteScript(NODE_PROBE_SCRIPT)}`;
}

function shellQuoteScript(script: string): string {
  return `'${script.replaceAll("'", `'\\''`)}'`;
}

export type KvmState = 'usable' | 'unusable' | 'unverified';

export interface NodeFacts {
  arch: string;
  kernel: string;
  kvm: { state: KvmState; detail: string };
  cpuVirtFlags: boolean;
  hugepages2Mi: { total: number; free: number };
  iscsid: boolean;
  modules: Record<string, 'loaded' | 'builtin' | 'available' | 'absent'>;
  /** The `snap list microk8s` row, or why there is none. */
  microk8sSnap: { installed: boolean; row: string };
}

export function parseNodeProbe(text: string): NodeFacts {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const modules: NodeFacts['modules'] = {};
  for (const [key, value] of values) {
    if (key.startsWith('module.')) modules[key.slice(7)] = value === 'loaded' || value === 'builtin' || value === 'available' ? value : 'absent';
  }
  const snapRow = values.get('snap_microk8s') ?? 'not probed';
  return {
    arch: values.get('arch') ?? 'unknown',
    kernel: values.get('kernel') ?? 'unknown',
    kvm: kvmState(values.get('kvm_dev'), values.get('kvm_create_vm')),
    cpuVirtFlags: values.get('cpu_virt_flags') === 'yes',
    hugepages2Mi: { total: Number(values.get('hugepages_2m_total') ?? 0) || 0, free: Number(values.get('hugepages_2m_free') ?? 0) || 0 },
    iscsid: values.get('iscsid') === 'running',
    modules,
    microk8sSnap: { installed: /^microk8s\s/.test(snapRow), row: snapRow },
  };
}

function kvmState(device: string | undefined, createVm: string | undefined): NodeFacts['kvm'] {
  if (device !== 'present') return { state: 'unusable', detail: '/dev/kvm is absent' };
  if (!createVm) return { state: 'unusable', detail: '/dev/kvm present but not probed' };
  if (createVm.startsWith('ok')) return { state: 'usable', detail: `KVM_CREATE_VM succeeded (${createVm.slice(3).trim()})` };
  if (createVm.startsWith('unverified')) return { state: 'unverified', detail: '/dev/kvm is readable and writable; KVM_CREATE_VM not tried (no perl on the node)' };
  return { state: 'unusable', detail: `/dev/kvm present but unusable: ${createVm.replace(/^failed\s*/, '')}` };
}

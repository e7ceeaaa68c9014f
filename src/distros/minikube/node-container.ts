/**
 * A minikube node under the docker driver is a container on the board: its
 * node handle runs commands inside that container (`docker exec`), so
 * footprint and per-node checks see that node, not the whole board. Pausing
 * the container freezes the node; killing it pulls its power.
 */
import { EdgeproofError, PrerequisiteMissingError } from '../../core/errors.js';
import { readFileThroughShell, shellQuote, writeFileThroughShell, type ExecOptions, type ExecResult, type Machine, type MachineCapability } from '../../emulation/machine.js';

export class NodeContainerMachine implements Machine {
  readonly backend = 'container';
  readonly cgroupRoot = '';
  readonly arch;
  readonly capabilities: ReadonlySet<MachineCapability> = new Set<MachineCapability>(['freeze', 'power-off', 'power-on', 'reboot']);

  constructor(
    private readonly board: Machine,
    /** minikube names the container after the node. */
    readonly name: string,
    readonly address: string,
    /** Guest ports of the board that reach this node (the primary's published apiserver). */
    private readonly published: ReadonlyMap<number, number> = new Map(),
  ) {
    this.arch = board.arch;
  }

  hostEndpoint(port: number): { host: string; port: number } {
    const boardPort = this.published.get(port);
    if (boardPort === undefined) throw new EdgeproofError('INTERNAL', `port ${port} of minikube node ${this.name} is not published on the board`);
    return this.board.hostEndpoint(boardPort);
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.board.exec(`docker exec -i ${shellQuote(this.name)} sh -c ${shellQuote(command)}`, options);
  }

  writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    return writeFileThroughShell((command, options) => this.exec(command, options), path, content, mode);
  }

  readFile(path: string): Promise<Buffer> {
    return readFileThroughShell((command, options) => this.exec(command, options), path);
  }

  async freeze(): Promise<void> {
    await this.board.exec(`docker pause ${shellQuote(this.name)}`);
  }

  async thaw(): Promise<void> {
    await this.board.exec(`docker unpause ${shellQuote(this.name)}`);
  }

  async powerOff(): Promise<void> {
    await this.board.exec(`docker kill ${shellQuote(this.name)}`);
  }

  async powerOn(): Promise<void> {
    await this.board.exec(`docker start ${shellQuote(this.name)}`);
  }

  async reboot(): Promise<void> {
    await this.board.exec(`docker restart --time 0 ${shellQuote(this.name)}`);
  }

  /** minikube's node network is its own: cutting one node off it is not offered. */
  async partition(): Promise<void> {
    throw new PrerequisiteMissingError(`a partition of minikube node ${this.name}`, 'partition checks need the qemu, container or ssh backend with edgeproof\'s own network');
  }

  async heal(): Promise<void> {
    await this.partition();
  }

  /** The container belongs to minikube's profile; `minikube delete` (or the board going away) removes it. */
  async dispose(): Promise<void> {}

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** One `docker inspect` line per node: name and IP on the profile's network. */
export function inspectNodesCommand(names: string[]): string {
  return `docker inspect -f '{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' ${names.map(shellQuote).join(' ')}`;
}

export function parseInspectNodes(output: string): Map<string, string> {
  const addresses = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [name, address] = line.trim().split(/\s+/);
    if (name && address) addresses.set(name.replace(/^\//, ''), address);
  }
  return addresses;
}

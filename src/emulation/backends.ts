import type { Backend } from './backend.js';
import { containerBackend } from './container/container-backend.js';
import { existingBackend } from './existing-backend.js';
import type { BackendName } from './machine.js';
import { qemuBackend } from './qemu/qemu-backend.js';
import { sshBackend } from './ssh/ssh-backend.js';

/** Every backend by name: a new backend is one entry here. */
export const BACKENDS: Readonly<Record<BackendName, Backend>> = {
  qemu: qemuBackend,
  container: containerBackend,
  ssh: sshBackend,
  existing: existingBackend,
};

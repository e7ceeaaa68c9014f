/**
 * The distributions the CLI accepts, apart from registry.ts: option parsing
 * and help read the names without loading every driver (seconds).
 */
export const distroNames = ['upstream', 'microk8s', 'k3s', 'minikube'] as const;
export type DistroName = (typeof distroNames)[number];

import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface KubeClients {
  core: CoreV1Api;
  apps: AppsV1Api;
}

export function kubeClients(kc: KubeConfig): KubeClients {
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

export { apiGet, isTransientApiError, kube, kubeRetrying } from '../distros/kube-access.js';

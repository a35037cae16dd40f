// The one Kubernetes client wrapper: builds the typed API clients from one KubeConfig, and maps
// the API's errors once into what callers act on (retryable or not, not-found, conflict).
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runningDevStackKubeconfig } from '../config.js';

/** The version user agents carry (package.json's). */
const PRODUCT_VERSION = '0.1.0';

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  coordination: CoordinationV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
  /** Server-side apply of a whole object as `fieldManager`, taking over conflicting fields. */
  apply<T extends KubernetesObject>(obj: T, fieldManager: string): Promise<T>;
}

export interface KubeConfigLookup {
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** The running `npm start` stack's kubeconfig, if any (lib/config.ts finds it). */
  devStackKubeconfig?: () => string | undefined;
  /** Where to say that the dev stack's kubeconfig was chosen. */
  notice?: (line: string) => void;
}

/**
 * Finds the cluster the way kubectl does: an explicit path, else $KUBECONFIG, ~/.kube/config, or the
 * pod's ServiceAccount. Where none exists, the running `npm start` stack of this checkout (said on
 * stderr); with no stack either, an error that says what to set. (client-node would otherwise fall
 * back to http://localhost:8080 and fail with "HTTP protocol is not allowed...".)
 */
export function loadKubeConfig(kubeconfigPath?: string, lookup: KubeConfigLookup = {}): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) {
    kc.loadFromFile(kubeconfigPath);
    return kc;
  }
  const env = lookup.env ?? process.env;
  const home = lookup.home ?? homedir();
  if (env.KUBECONFIG || env.KUBERNETES_SERVICE_HOST || existsSync(join(home, '.kube', 'config'))) {
    kc.loadFromDefault();
    return kc;
  }
  const devStack = (lookup.devStackKubeconfig ?? runningDevStackKubeconfig)();
  if (devStack) {
    (lookup.notice ?? ((line) => process.stderr.write(line + '\n')))(
      `KUBECONFIG is unset and ~/.kube/config does not exist: using the running npm start stack's kubeconfig ${devStack}`,
    );
    kc.loadFromFile(devStack);
    return kc;
  }
  throw new Error(
    'no Kubernetes cluster configured: KUBECONFIG is unset, ~/.kube/config does not exist and this is not a pod. ' +
      'Set KUBECONFIG (or --kubeconfig) to a kubeconfig file; for the local stack, run `npm start` and ' +
      'export KUBECONFIG=$PWD/.stack/kubeconfig',
  );
}

/**
 * Names the component on every request it makes (typed calls and watches alike), so the API
 * server's audit log and metrics attribute load to it: `pgbtls-worker/0.1.0`, `pgbtls-watcher/0.1.0`.
 */
function setUserAgent(kc: KubeConfig, userAgent: string): void {
  // Both request paths of client-node (the generated clients and Watch) take their headers from
  // applyOptions; adding ours there covers them all.
  const target = kc as unknown as { applyOptions(opts: { headers?: Record<string, string> }): Promise<void> };
  const applyOptions = target.applyOptions.bind(kc);
  target.applyOptions = async (opts) => {
    await applyOptions(opts);
    opts.headers = { ...opts.headers, 'User-Agent': userAgent };
  };
}

/**
 * One keep-alive connection pool per set of TLS settings. client-node makes a new agent for every
 * request, so each call was a new TCP connection and TLS handshake (and a new SecureContext):
 * most of the worker's CPU in a fleet (`npm run bench`), and much of the API server's.
 */
function reuseConnections(kc: KubeConfig): void {
  type AgentOptions = Record<string, unknown>;
  const target = kc as unknown as { createAgent(cluster: unknown, opts: AgentOptions): unknown };
  const createAgent = target.createAgent.bind(kc);
  const agents = new Map<string, unknown>();
  target.createAgent = (cluster, opts) => {
    const server = (cluster as { server?: string; proxyUrl?: string } | null)?.server ?? '';
    const key = JSON.stringify([
      server,
      ...Object.entries(opts).map(([k, v]) => [k, v === undefined ? null : String(v)]),
    ]);
    let agent = agents.get(key);
    if (!agent) {
      // Settings change only when the kubeconfig's files do (a rotated client certificate).
      if (agents.size >= 8) agents.clear();
      agents.set(key, (agent = createAgent(cluster, { ...opts, keepAlive: true })));
    }
    return agent;
  };
}

export function createKube(kubeconfigPath?: string | KubeConfig, opts: { userAgent?: string } = {}): Kube {
  const kc = kubeconfigPath instanceof KubeConfig ? kubeconfigPath : loadKubeConfig(kubeconfigPath);
  reuseConnections(kc);
  if (opts.userAgent) setUserAgent(kc, `${opts.userAgent}/${PRODUCT_VERSION}`);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    objects,
    apply: (obj, fieldManager) =>
      objects.patch(obj, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply),
  };
}

/** Per-call option for JSON merge patches (client-node defaults to JSON patch; CRs refuse strategic merge). */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

export interface KubeErrorInfo {
  /** HTTP status, or 0 when the request never got an answer (connection refused, reset, DNS). */
  code: number;
  reason: string;
  message: string;
  retryable: boolean;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Classifies any error a client-node call can throw. 409/429/5xx and network faults are retryable. */
export function classifyKubeError(err: unknown): KubeErrorInfo {
  if (err instanceof ApiException) {
    let reason: string;
    let message: string;
    try {
      const status = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
      reason = status?.reason ?? '';
      message = status?.message ?? '';
    } catch {
      reason = '';
      message = String(err.body).slice(0, 300);
    }
    const code = err.code;
    return {
      code,
      reason,
      message: message || `HTTP ${code}`,
      retryable: code === 409 || code === 429 || code >= 500,
    };
  }
  const e = err as { code?: string; cause?: { code?: string }; message?: string; type?: string };
  const netCode = e?.code ?? e?.cause?.code;
  const network = (netCode && NETWORK_CODES.has(netCode)) || e?.type === 'system' || e?.type === 'request-timeout';
  return {
    code: 0,
    reason: netCode ?? 'Unknown',
    message: e?.message ?? String(err),
    retryable: Boolean(network),
  };
}

export const isNotFound = (err: unknown) => classifyKubeError(err).code === 404;
export const isConflict = (err: unknown) => classifyKubeError(err).code === 409;
export const isAlreadyExists = (err: unknown) => {
  const info = classifyKubeError(err);
  return info.code === 409 && info.reason === 'AlreadyExists';
};

/** Returns the object, or undefined when the API says 404. */
export async function getOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

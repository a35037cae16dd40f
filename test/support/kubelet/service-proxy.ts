// TEST SUPPORT, not product: stands in for kube-proxy on the stand-in node. The API server rejects
// EndpointSlices holding loopback addresses (the stand-in's pod IPs), so no Service of the local
// stack has endpoints and nothing routes `<service>.<ns>.svc`. This proxy follows the pods itself:
// each ClusterIP Service of a KubeDB-managed pooler gets a listener on a stable loopback address
// of the stack's pod network (`<net>.255.L`, recorded in the Service's `pgbtls.dev/stand-in-address`
// annotation, port = the Service's port), and every new connection goes to one of the Service's
// pods that match its selector, are Ready and are not terminating, as the readiness changes.
// Like kube-proxy in iptables mode: an open connection stays with its pod when the pod leaves the
// Service; a connection with no Ready pod behind the Service is reset; there is no retry on
// another pod when the chosen one refuses.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { startResilientInformer, type ResilientInformer } from '../../../lib/kube/informer.js';
import { classifyKubeError, mergePatch, type Kube } from '../../../lib/kube/kube.js';
import type { Logger } from '../../../lib/log.js';

/** Where the proxy listens for a Service: `<ip>` (the port is the Service's own). */
export const STAND_IN_ADDRESS_ANNOTATION = 'pgbtls.dev/stand-in-address';
/** Third octet of the pod network reserved for Service addresses (pods use 0..254). */
export const SERVICE_HOST_OCTET = 255;

interface ProxiedService {
  key: string;
  namespace: string;
  ip: string;
  selector: Record<string, string>;
  /** Service port → targetPort (a number, or a container port name). */
  ports: Map<number, number | string>;
  servers: Map<number, Server>;
  /** Round-robin position. */
  next: number;
  connections: Set<Socket>;
}

export interface ServiceProxyOptions {
  kube: Kube;
  logger: Logger;
  /** The first two octets of the stack's pod network, e.g. `127.42`. */
  podNetwork: string;
  labelSelector?: string;
}

const isReady = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp &&
  Boolean(pod.status?.podIP) &&
  (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

const matches = (pod: V1Pod, selector: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => pod.metadata?.labels?.[k] === v);

export class ServiceProxy {
  private pods?: ResilientInformer<V1Pod>;
  private services?: ResilientInformer<V1Service>;
  private readonly proxied = new Map<string, ProxiedService>();
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: ServiceProxyOptions) {}

  async start(): Promise<void> {
    const { kube, logger } = this.opts;
    const selector = this.opts.labelSelector ?? 'app.kubernetes.io/managed-by=kubedb.com';
    this.pods = await startResilientInformer<V1Pod>({
      kube,
      path: '/api/v1/pods',
      list: () => kube.core.listPodForAllNamespaces({ labelSelector: selector }),
      labelSelector: selector,
      what: 'pods (service proxy)',
      logger,
      onChange: () => undefined, // endpoints are read from the cache at each new connection
    });
    this.services = await startResilientInformer<V1Service>({
      kube,
      path: '/api/v1/services',
      list: () => kube.core.listServiceForAllNamespaces({ labelSelector: selector }),
      labelSelector: selector,
      what: 'services (service proxy)',
      logger,
      onChange: (svc, verb) => this.enqueue(() => (verb === 'delete' ? this.remove(svc) : this.sync(svc))),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.pods?.stop(), this.services?.stop()]);
    await this.queue;
    for (const p of this.proxied.values()) this.close(p);
  }

  /** The Ready pods behind a Service right now, with the port a connection to `port` goes to. */
  endpoints(p: ProxiedService, port: number): { ip: string; port: number }[] {
    const target = p.ports.get(port)!;
    return (this.pods?.cache.list(p.namespace) ?? [])
      .filter((pod) => matches(pod, p.selector) && isReady(pod))
      .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1))
      .flatMap((pod) => {
        const resolved =
          typeof target === 'number'
            ? target
            : pod.spec?.containers.flatMap((c) => c.ports ?? []).find((cp) => cp.name === target)?.containerPort;
        return resolved ? [{ ip: pod.status!.podIP!, port: resolved }] : [];
      });
  }

  private enqueue(fn: () => Promise<void>): void {
    this.queue = this.queue
      .then(fn)
      .catch((err) => this.opts.logger.warn('service proxy sync failed', { error: classifyKubeError(err).message }));
  }

  private async sync(svc: V1Service): Promise<void> {
    if (this.stopped) return;
    const { name, namespace } = svc.metadata as { name: string; namespace: string };
    const key = `${namespace}/${name}`;
    const selector = svc.spec?.selector;
    if (!selector || svc.spec?.clusterIP === 'None') return; // headless: DNS only, nothing to proxy
    const ports = new Map((svc.spec?.ports ?? []).map((p) => [p.port, p.targetPort ?? p.port] as const));
    const existing = this.proxied.get(key);
    if (existing) {
      existing.selector = selector;
      if ([...ports.keys()].join() === [...existing.ports.keys()].join()) {
        existing.ports = ports;
        return;
      }
      this.close(existing);
      this.proxied.delete(key);
    }
    const ip = this.addressFor(svc);
    const p: ProxiedService = {
      key,
      namespace,
      ip,
      selector,
      ports,
      servers: new Map(),
      next: 0,
      connections: new Set(),
    };
    this.proxied.set(key, p);
    for (const port of ports.keys()) p.servers.set(port, await this.listen(p, port));
    if (svc.metadata?.annotations?.[STAND_IN_ADDRESS_ANNOTATION] !== ip) {
      await this.opts.kube.core.patchNamespacedService(
        { name, namespace, body: { metadata: { annotations: { [STAND_IN_ADDRESS_ANNOTATION]: ip } } } },
        mergePatch,
      );
    }
    this.opts.logger.info('proxying Service', { service: key, address: ip, ports: [...ports.keys()] });
  }

  /** The address recorded on the Service when it is still free, else the lowest free one. */
  private addressFor(svc: V1Service): string {
    const prefix = `${this.opts.podNetwork}.${SERVICE_HOST_OCTET}.`;
    const used = new Set([...this.proxied.values()].map((p) => p.ip));
    const recorded = svc.metadata?.annotations?.[STAND_IN_ADDRESS_ANNOTATION];
    if (recorded?.startsWith(prefix) && !used.has(recorded)) return recorded;
    for (let host = 1; host <= 254; host++) if (!used.has(prefix + host)) return prefix + host;
    throw new Error(`no free Service address left in ${prefix}0/24`);
  }

  private listen(p: ProxiedService, port: number): Promise<Server> {
    const server = createServer((client) => this.forward(p, port, client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, p.ip, () => resolve(server));
    });
  }

  private forward(p: ProxiedService, port: number, client: Socket): void {
    const endpoints = this.endpoints(p, port);
    if (!endpoints.length) {
      client.resetAndDestroy(); // kube-proxy rejects a connection to a Service with no Ready pod
      return;
    }
    const ep = endpoints[p.next++ % endpoints.length];
    const upstream = connect({ host: ep.ip, port: ep.port });
    p.connections.add(client);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    // A refused or reset pod connection resets the client's, as a DNAT'd connection would.
    upstream.on('error', () => client.resetAndDestroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => {
      upstream.destroy();
      p.connections.delete(client);
    });
  }

  private async remove(svc: V1Service): Promise<void> {
    const key = `${svc.metadata!.namespace}/${svc.metadata!.name}`;
    const p = this.proxied.get(key);
    if (!p) return;
    this.close(p);
    this.proxied.delete(key);
  }

  private close(p: ProxiedService): void {
    for (const s of p.servers.values()) s.close();
    for (const c of p.connections) c.destroy();
  }
}

// Stands in for the kubelet of one fake Node: binds our pending pods to it, reports them Running
// and Ready once their runtime has started, and finishes graceful deletion, so that the real
// StatefulSet controller sees pods come and go as on a real node.
import type { V1Pod } from '@kubernetes/client-node';
import { startResilientInformer, type ResilientInformer } from '../../../lib/kube/informer.js';
import { classifyKubeError, isNotFound, mergePatch, type Kube } from '../../../lib/kube/kube.js';
import type { Logger } from '../../../lib/log.js';
import { takeFault } from './faults.js';
import type { PodRuntime } from './runtime.js';

export interface KubeletStandInOptions {
  kube: Kube;
  runtime: PodRuntime;
  logger: Logger;
  nodeName?: string;
  /** Which pods this node takes; by default every pod of a KubeDB-managed PgBouncer. */
  podLabelSelector?: string;
}

const CONDITION_TYPES = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'] as const;

export class KubeletStandIn {
  readonly nodeName: string;
  private informer?: ResilientInformer<V1Pod>;
  private stopped = false;
  private readonly started = new Set<string>(); // pod uids whose runtime is running
  private readonly queues = new Map<string, Promise<void>>(); // per-pod serialisation

  constructor(private readonly opts: KubeletStandInOptions) {
    this.nodeName = opts.nodeName ?? 'pgbtls-node-0';
  }

  async start(): Promise<void> {
    await this.registerNode();
    const { kube } = this.opts;
    const selector = this.opts.podLabelSelector ?? 'app.kubernetes.io/managed-by=kubedb.com';
    // The product's resilient informer: re-lists and re-watches with backoff, logs once per outage.
    this.informer = await startResilientInformer<V1Pod>({
      kube,
      path: '/api/v1/pods',
      list: () => kube.core.listPodForAllNamespaces({ labelSelector: selector }),
      labelSelector: selector,
      what: 'pods',
      logger: this.opts.logger,
      // A pod removed without graceful deletion (force delete) still has its process stopped.
      onChange: (pod, verb) => (verb === 'delete' ? void this.opts.runtime.stop(pod) : this.enqueue(pod)),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
    await Promise.allSettled([...this.queues.values()]);
    await this.opts.runtime.stopAll();
  }

  private async registerNode(): Promise<void> {
    const { core } = this.opts.kube;
    const now = new Date();
    try {
      await core.createNode({
        body: {
          metadata: {
            name: this.nodeName,
            labels: {
              'kubernetes.io/hostname': this.nodeName,
              'kubernetes.io/os': 'linux',
              'pgbtls.dev/stand-in': 'true',
            },
          },
        },
      });
    } catch (err) {
      if (classifyKubeError(err).code !== 409) throw err;
    }
    await core.patchNodeStatus(
      {
        name: this.nodeName,
        body: {
          status: {
            capacity: { cpu: '16', memory: '64Gi', pods: '250' },
            allocatable: { cpu: '16', memory: '64Gi', pods: '250' },
            addresses: [
              { type: 'InternalIP', address: '127.0.0.1' },
              { type: 'Hostname', address: this.nodeName },
            ],
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'kubelet stand-in is posting ready status',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
            nodeInfo: {
              kubeletVersion: 'v1.34.4-stand-in',
              kubeProxyVersion: '',
              architecture: 'amd64',
              operatingSystem: 'linux',
              bootID: '',
              containerRuntimeVersion: 'stand-in://1',
              kernelVersion: '',
              machineID: '',
              osImage: 'stand-in',
              systemUUID: '',
            },
          },
        },
      },
      mergePatch,
    );
  }

  private enqueue(pod: V1Pod): void {
    const uid = pod.metadata!.uid!;
    const previous = this.queues.get(uid) ?? Promise.resolve();
    const next = previous
      .then(() => this.sync(pod))
      .catch((err) => {
        if (isNotFound(err)) return;
        this.opts.logger.warn('pod sync failed', {
          pod: `${pod.metadata!.namespace}/${pod.metadata!.name}`,
          error: classifyKubeError(err).message,
        });
      })
      .finally(() => {
        if (this.queues.get(uid) === next) this.queues.delete(uid);
      });
    this.queues.set(uid, next);
  }

  private async sync(pod: V1Pod): Promise<void> {
    if (this.stopped) return;
    const { name, namespace, uid } = pod.metadata as { name: string; namespace: string; uid: string };
    const { core } = this.opts.kube;
    if (pod.metadata!.deletionTimestamp) {
      // Graceful deletion: stop the workload, then confirm with a zero grace period (the kubelet's part).
      await this.opts.runtime.stop(pod);
      this.started.delete(uid);
      // Grace period in the body: a DeleteOptions body overrides the query parameter.
      await core
        .deleteNamespacedPod({ name, namespace, body: { gracePeriodSeconds: 0, preconditions: { uid } } })
        .catch((err) => {
          if (!isNotFound(err) && classifyKubeError(err).code !== 409) throw err;
        });
      return;
    }
    if (!pod.spec?.nodeName) {
      await core.createNamespacedBinding({
        namespace,
        body: { metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName } },
      });
      return; // the update event of the bound pod brings us back here
    }
    if (pod.spec.nodeName !== this.nodeName || this.started.has(uid)) return;
    this.started.add(uid);
    await this.patchStatus(pod, { phase: 'Pending', ready: false });
    const fault = await takeFault(this.opts.kube, namespace, name);
    const { podIP } = await this.opts.runtime.start(pod, fault);
    if (fault?.readyDelayMs) await new Promise((r) => setTimeout(r, fault.readyDelayMs));
    if (fault?.neverReady) {
      this.opts.logger.info('fault: pod stays unready', { pod: `${namespace}/${name}` });
      await this.patchStatus(pod, { phase: 'Running', ready: false, podIP });
      return;
    }
    await this.patchStatus(pod, { phase: 'Running', ready: true, podIP });
    this.opts.logger.debug('pod ready', { pod: `${namespace}/${name}`, podIP });
  }

  private async patchStatus(pod: V1Pod, s: { phase: string; ready: boolean; podIP?: string }): Promise<void> {
    const now = new Date();
    const ready = s.ready ? 'True' : 'False';
    const conditions = CONDITION_TYPES.map((type) => ({
      type,
      status: type === 'PodScheduled' || type === 'Initialized' ? 'True' : ready,
      lastTransitionTime: now,
    }));
    const containerStatuses = (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: s.ready,
      started: s.ready,
      restartCount: 0,
      state: s.ready ? { running: { startedAt: now } } : { waiting: { reason: 'ContainerCreating' } },
    }));
    await this.opts.kube.core.patchNamespacedPodStatus(
      {
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        body: {
          status: {
            phase: s.phase,
            hostIP: '127.0.0.1',
            hostIPs: [{ ip: '127.0.0.1' }],
            ...(s.podIP ? { podIP: s.podIP, podIPs: [{ ip: s.podIP }] } : {}),
            startTime: pod.status?.startTime ?? now,
            conditions,
            containerStatuses,
          },
        },
      },
      mergePatch,
    );
  }
}

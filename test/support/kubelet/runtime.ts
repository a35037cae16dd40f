// What runs "inside" a pod on the stand-in node. The simulated runtime only waits; a later mode
// runs a real pgbouncer process per pod behind the same interface.
import type { V1Pod } from '@kubernetes/client-node';

export interface StartedPod {
  podIP: string;
}

export interface PodRuntime {
  /** Starts the pod's workload; resolves when it should be reported Ready. */
  start(pod: V1Pod): Promise<StartedPod>;
  /** Stops the pod's workload; must be safe to call for a pod that never started. */
  stop(pod: V1Pod): Promise<void>;
}

/** Marks pods Ready after a fixed delay, each with its own loopback address. */
export class SimulatedRuntime implements PodRuntime {
  private nextHost = 1;
  private readonly ips = new Map<string, string>();

  constructor(private readonly readyDelayMs: number) {}

  async start(pod: V1Pod): Promise<StartedPod> {
    const uid = pod.metadata!.uid!;
    let ip = this.ips.get(uid);
    if (!ip) {
      ip = `127.0.1.${this.nextHost}`;
      this.nextHost = (this.nextHost % 250) + 1;
      this.ips.set(uid, ip);
    }
    await new Promise((r) => setTimeout(r, this.readyDelayMs));
    return { podIP: ip };
  }

  async stop(pod: V1Pod): Promise<void> {
    this.ips.delete(pod.metadata!.uid!);
  }
}

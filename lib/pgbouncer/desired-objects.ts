// What should exist for one PgBouncer, as whole objects ready for server-side apply. Pure: the
// caller gathers the inputs (the rendered ini and userlist) and acts on the result.
import { createHash } from 'node:crypto';
import type {
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { PgBouncer } from '../api/types.js';
import { markOwned } from '../api/ownership.js';
import {
  authSecretName,
  certificateSecretName,
  CONFIG_HASH_ANNOTATION,
  configSecretName,
  governingServiceName,
  objectLabels,
  selectorLabels,
  serviceSelectorLabels,
  userlistSecretName,
} from '../api/names.js';
import { CLIENT_TLS_DIR, CONFIG_DIR, CONFIG_FILE_KEY, SECRET_DIR, SERVER_TLS_DIR, USERLIST_KEY } from './paths.js';
import { ADMIN_USER, DEFAULT_LISTEN_PORT } from './render-ini.js';
import { isTlsEnabled } from './tls-settings.js';

export { CONFIG_HASH_ANNOTATION } from '../api/names.js';
export { renderUserlist } from './userlist.js';

export const DEFAULT_PGBOUNCER_VERSION = '1.18.0';
export const PGBOUNCER_IMAGE_REPOSITORY = 'ghcr.io/appscode-images/pgbouncer';
export const CONTAINER_NAME = 'pgbouncer';
export const CONTAINER_PORT_NAME = 'pgbouncer';
/** The uid/gid of the postgres user in the pgbouncer images. */
const PGBOUNCER_UID = 70;

export interface DesiredObjects {
  statefulSet: V1StatefulSet;
  /** The primary Service `<name>`, then the governing headless Service `<name>-pods`. */
  services: [V1Service, V1Service];
  configSecret: V1Secret;
  userlistSecret: V1Secret;
  /** Absent when replicas <= 1: then any existing PDB must be deleted. */
  pdb?: V1PodDisruptionBudget;
}

export function configHash(iniText: string): string {
  return createHash('sha256').update(iniText).digest('hex');
}

/** KubeDB's sizing: at least one pod may go, at most a minority of the others. */
export function pdbMaxUnavailable(replicas: number): number {
  return Math.max(1, Math.floor((replicas - 1) / 2));
}

/** Owned by the PgBouncer as its controller, so the garbage collector removes it with the PgBouncer. */
export function ownerReference(pb: PgBouncer): V1OwnerReference {
  return {
    apiVersion: pb.apiVersion,
    kind: pb.kind,
    name: pb.metadata.name!,
    uid: pb.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function secretVolume(
  volumeName: string,
  secretName: string,
  mountPath: string,
): { volume: V1Volume; mount: V1VolumeMount } {
  return {
    // Group-readable only: keys and passwords are not for other users of the node.
    volume: { name: volumeName, secret: { secretName, defaultMode: 0o440 } },
    mount: { name: volumeName, mountPath, readOnly: true },
  };
}

function objectMeta(pb: PgBouncer, objectName: string) {
  return {
    name: objectName,
    namespace: pb.metadata.namespace!,
    labels: objectLabels(pb.metadata.name!),
    ownerReferences: [ownerReference(pb)],
  };
}

/** A Secret's metadata, marked as made for this pooler (lib/api/ownership.ts), so the worker may rewrite it. */
function secretMeta(pb: PgBouncer, objectName: string) {
  return markOwned(objectMeta(pb, objectName), { name: pb.metadata.name!, uid: pb.metadata.uid! });
}

/**
 * The admin credentials. Not part of desiredObjects: this Secret is created once, when missing,
 * and never applied again, because its password is generated then and everything that logs in as
 * admin depends on it staying the same.
 */
export function desiredAuthSecret(pb: PgBouncer, adminPassword: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: secretMeta(pb, authSecretName(pb)),
    type: 'kubernetes.io/basic-auth',
    data: { username: b64(ADMIN_USER), password: b64(adminPassword) },
  };
}

/** `userlistText` is the auth_file content (see renderUserlist); `iniText` is renderPgBouncerIni's output. */
export function desiredObjects(pb: PgBouncer, iniText: string, userlistText: string): DesiredObjects {
  const name = pb.metadata.name!;
  const replicas = pb.spec.replicas ?? 1;
  const port = pb.spec.connectionPool?.port ?? DEFAULT_LISTEN_PORT;
  const metadata = (objectName: string) => objectMeta(pb, objectName);

  const mounts = [
    secretVolume('config', configSecretName(name), CONFIG_DIR),
    secretVolume('userlist', userlistSecretName(name), SECRET_DIR),
  ];
  if (isTlsEnabled(pb)) {
    // Minted by the ops workflow, not here; a pod that starts before they exist waits in
    // ContainerCreating, which is what we want rather than a pooler without its certificates.
    mounts.push(
      secretVolume('server-cert', certificateSecretName(pb, 'server'), SERVER_TLS_DIR),
      secretVolume('client-cert', certificateSecretName(pb, 'client'), CLIENT_TLS_DIR),
    );
  }

  const statefulSet: V1StatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(name),
    spec: {
      replicas,
      serviceName: governingServiceName(name),
      podManagementPolicy: 'OrderedReady',
      // OnDelete: a template change (new TLS volumes, new config hash) never restarts pods by
      // itself. Pods restart only when the ops workflow evicts them, one at a time, through the
      // PDB, verifying each; a RollingUpdate would race that runbook as soon as the provisioner
      // resumes, and would restart pods outside any maintenance window.
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: selectorLabels(name) },
      template: {
        metadata: {
          labels: objectLabels(name),
          annotations: { [CONFIG_HASH_ANNOTATION]: configHash(iniText) },
        },
        spec: {
          securityContext: { fsGroup: PGBOUNCER_UID },
          containers: [
            {
              name: CONTAINER_NAME,
              image: `${PGBOUNCER_IMAGE_REPOSITORY}:${pb.spec.version || DEFAULT_PGBOUNCER_VERSION}`,
              securityContext: { runAsUser: PGBOUNCER_UID, runAsGroup: PGBOUNCER_UID, runAsNonRoot: true },
              ports: [{ name: CONTAINER_PORT_NAME, containerPort: port, protocol: 'TCP' }],
              readinessProbe: {
                tcpSocket: { port: CONTAINER_PORT_NAME },
                periodSeconds: 10,
                timeoutSeconds: 10,
                failureThreshold: 1,
              },
              volumeMounts: mounts.map((m) => m.mount),
            },
          ],
          volumes: mounts.map((m) => m.volume),
        },
      },
    },
  };

  const primary: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(name),
    spec: {
      type: 'ClusterIP',
      // Not the StatefulSet's selector: a pod being drained keeps its owner but leaves the Service.
      selector: serviceSelectorLabels(name),
      ports: [{ name: 'primary', port, targetPort: CONTAINER_PORT_NAME, protocol: 'TCP' }],
    },
  };
  // Headless, and listing pods before they are Ready: each pod gets a stable DNS name
  // (<pod>.<name>-pods.<ns>.svc) that resolves while the pod is still starting.
  const governing: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(governingServiceName(name)),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels(name),
      ports: [{ name: CONTAINER_PORT_NAME, port, targetPort: CONTAINER_PORT_NAME, protocol: 'TCP' }],
    },
  };

  const configSecret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: secretMeta(pb, configSecretName(name)),
    type: 'Opaque',
    data: { [CONFIG_FILE_KEY]: b64(iniText) },
  };
  const userlistSecret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: secretMeta(pb, userlistSecretName(name)),
    type: 'Opaque',
    data: { [USERLIST_KEY]: b64(userlistText) },
  };

  const pdb: V1PodDisruptionBudget | undefined =
    replicas > 1
      ? {
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: metadata(name),
          spec: { maxUnavailable: pdbMaxUnavailable(replicas), selector: { matchLabels: selectorLabels(name) } },
        }
      : undefined;

  return { statefulSet, services: [primary, governing], configSecret, userlistSecret, pdb };
}

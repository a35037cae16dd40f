// Names and labels of the objects that make up one PgBouncer (KubeDB's names, so KubeDB users find
// them where they expect). The provisioner and the ops workflow both derive names from here.
import type { CertificateAlias, PgBouncer } from './types.js';

export const FIELD_MANAGER = 'pgbouncer-provisioner';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const MANAGED_BY = 'kubedb.com';

/** Annotation on the pod template: sha256 of the pgbouncer.ini the pod was created with. */
export const CONFIG_HASH_ANNOTATION = 'pgbtls.dev/config-hash';

// The objects an ops request makes beside the PgBouncer's own.
/** The coordination Lease that queues a PgBouncer's ops requests, oldest first. */
export const leaseName = (pgbouncer: string) => `pgbouncer-ops-${pgbouncer}`;
/** A certificate's staging Secret, `<secret>-next-<first 8 characters of the request's uid>`: one per request, found again on retry. */
export const stagingSecretName = (secretName: string, requestUid: string) =>
  `${secretName}-next-${requestUid.slice(0, 8)}`;
/** What the staging suffix adds to a Secret name. */
export const STAGING_SUFFIX_LENGTH = '-next-'.length + 8;
/** The snapshot of what a request changes (it holds keys, so it is a Secret). */
export const snapshotSecretName = (pgbouncer: string, requestUid: string) =>
  `${pgbouncer}-tls-snapshot-${requestUid.slice(0, 8)}`;
/** The CRL a CA publishes next to its own Secret. */
export const crlSecretName = (caSecretName: string | undefined) => `${caSecretName}-crl`;

export const configSecretName = (pbName: string) => `${pbName}-config`;
export const userlistSecretName = (pbName: string) => `${pbName}-userlist`;
export const governingServiceName = (pbName: string) => `${pbName}-pods`;

/** The names of the objects applied on every reconcile (the auth Secret: see authSecretName). */
export function objectNames(pbName: string) {
  return {
    statefulSet: pbName,
    primaryService: pbName,
    governingService: governingServiceName(pbName),
    configSecret: configSecretName(pbName),
    userlistSecret: userlistSecretName(pbName),
    podDisruptionBudget: pbName,
  };
}

/** KubeDB honours spec.authSecret.name; the default is `<name>-auth`. */
export function authSecretName(pb: PgBouncer): string {
  const name = (pb.spec.authSecret as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : `${pb.metadata.name}-auth`;
}

/** `spec.tls.certificates[alias].secretName`, else KubeDB's default `<name>-<alias>-cert`. */
export function certificateSecretName(pb: PgBouncer, alias: CertificateAlias | string): string {
  const override = pb.spec.tls?.certificates?.find((c) => c.alias === alias)?.secretName;
  return override || `${pb.metadata.name}-${alias}-cert`;
}

/** The labels the StatefulSet selects its pods by. A StatefulSet's selector is immutable: never add to it. */
export function selectorLabels(pbName: string): Record<string, string> {
  return { [LABEL_NAME]: 'pgbouncers.kubedb.com', [LABEL_INSTANCE]: pbName, [LABEL_MANAGED_BY]: MANAGED_BY };
}

/** Labels on every object the provisioner makes. */
export function objectLabels(pbName: string): Record<string, string> {
  return { ...selectorLabels(pbName), [LABEL_COMPONENT]: COMPONENT_SERVING };
}

export const COMPONENT_SERVING = 'connection-pooler';
/**
 * The component label of a pod being drained before its restart. The primary Service selects
 * serviceSelectorLabels, which include the component, so it stops sending the pod new connections
 * (a real EndpointSlice controller and kube-proxy honour that, as the stand-in's proxy does),
 * while the StatefulSet, whose selector lacks the component, keeps owning the pod.
 */
export const COMPONENT_DRAINING = 'connection-pooler-draining';

/** What the primary Service selects: every label of a serving pod (the drain changes one). */
export function serviceSelectorLabels(pbName: string): Record<string, string> {
  return objectLabels(pbName);
}

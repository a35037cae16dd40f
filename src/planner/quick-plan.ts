// TEMPORARY stand-in for plan.ts while it is being written; removed when plan.ts lands.
import { serverCertificateNames } from '../certificates/index.js';
import { effectiveSslMode } from '../provisioner/render-ini.js';
import { certificateSecretName } from '../provisioner/names.js';
import { issuerKey, type CertificatePlan, type FieldError, type LiveState, type PlanResult } from './types.js';

export function planReconfigureTLS(live: LiveState, _options: { hotReload?: boolean } = {}): PlanResult {
  const errors: FieldError[] = [];
  const spec = live.request.spec;
  const pb = live.pgbouncer;
  const tls = spec.tls;
  if (spec.type !== 'ReconfigureTLS')
    errors.push({ field: 'spec.type', message: `spec.type: ${spec.type} is not supported` });
  if (!pb)
    errors.push({
      field: 'spec.databaseRef.name',
      message: `spec.databaseRef.name: PgBouncer "${spec.databaseRef?.name}" not found`,
    });
  if (!tls) errors.push({ field: 'spec.tls', message: 'spec.tls: required' });
  if (errors.length || !pb || !tls) return { ok: false, errors };
  const hasTls = Boolean(pb.spec.tls?.issuerRef);
  let intent: 'add' | 'rotate' | 'change-issuer' | 'remove' | 'reissue';
  if (tls.remove) intent = 'remove';
  else if (tls.rotateCertificates) intent = 'rotate';
  else if (tls.issuerRef && !hasTls) intent = 'add';
  else if (tls.issuerRef && tls.issuerRef.name !== pb.spec.tls?.issuerRef?.name) intent = 'change-issuer';
  else intent = 'reissue';
  if ((intent === 'rotate' || intent === 'remove') && !hasTls) {
    const f = intent === 'rotate' ? 'spec.tls.rotateCertificates' : 'spec.tls.remove';
    return {
      ok: false,
      errors: [{ field: f, message: `${f}: PgBouncer ${pb.name} has no TLS; add TLS with spec.tls.issuerRef first` }],
    };
  }
  const issuerRef = tls.issuerRef ?? pb.spec.tls?.issuerRef;
  const issuer = issuerRef ? live.issuers[issuerKey(issuerRef)] : undefined;
  if (intent !== 'remove' && (!issuer || issuer.problem)) {
    return {
      ok: false,
      errors: [{ field: 'spec.tls.issuerRef', message: `spec.tls.issuerRef: ${issuer?.problem ?? 'missing'}` }],
    };
  }
  const pbObj = {
    apiVersion: 'kubedb.com/v1' as const,
    kind: 'PgBouncer' as const,
    metadata: { name: pb.name, namespace: live.request.ref.namespace },
    spec: pb.spec,
  };
  const newTls = intent === 'remove' ? null : { ...(pb.spec.tls ?? {}), issuerRef: issuerRef! };
  const names = serverCertificateNames({
    name: pb.name,
    namespace: live.request.ref.namespace,
    replicas: pb.spec.replicas ?? 1,
    clusterDomain: live.clusterDomain,
  });
  const staging = (s: string) => `${s}-next-${live.request.ref.uid.slice(0, 8)}`;
  const certs: CertificatePlan[] =
    intent === 'remove'
      ? []
      : (['server', 'client'] as const).map((alias) => ({
          alias,
          usage: alias,
          secretName: certificateSecretName(pbObj, alias),
          stagingSecretName: staging(certificateSecretName(pbObj, alias)),
          issuer: issuer!,
          commonName: alias === 'server' ? pb.name : 'pgbouncer',
          dnsNames: alias === 'server' ? names.dnsNames : [],
          ipAddresses: alias === 'server' ? names.ipAddresses : [],
          uris: [],
          emailAddresses: [],
          durationMs: 90 * 24 * 3600_000,
          privateKey: { algorithm: 'RSA', size: 2048, encoding: 'PKCS1' },
        }));
  const oldIssuerRef = pb.spec.tls?.issuerRef;
  const oldIssuer = oldIssuerRef ? live.issuers[issuerKey(oldIssuerRef)] : undefined;
  const revoke =
    intent === 'add' || !oldIssuer
      ? []
      : Object.values(live.certificates).map((c) => ({ alias: c!.alias, serialHex: c!.serialHex, issuer: oldIssuer }));
  return {
    ok: true,
    plan: {
      intent,
      pgbouncer: { namespace: live.request.ref.namespace, name: pb.name, uid: pb.uid },
      newSpec: {
        tls: newTls,
        sslMode: intent === 'remove' ? 'disable' : (tls.sslMode ?? (hasTls ? effectiveSslMode(pbObj) : 'verify-full')),
      },
      tlsBefore: hasTls,
      tlsAfter: intent !== 'remove',
      certificates: certs,
      revoke,
      deleteSecrets:
        intent === 'remove' ? [certificateSecretName(pbObj, 'server'), certificateSecretName(pbObj, 'client')] : [],
      caBundleDuringRoll: intent === 'change-issuer' ? 'old+new' : 'new',
      pods: [...live.pods]
        .sort((a, b) => b.ordinal - a.ordinal)
        .map((p) => ({ name: p.name, uid: p.uid, ordinal: p.ordinal, method: 'restart' })),
      warnings: [],
    },
  };
}

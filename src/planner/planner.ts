// The pure planner: (ops request, live state) → what will change. The workflow executes the plan,
// the CLI's `plan` prints it; neither decides anything on its own.
import type { CertificateSpec, PgBouncer, PgBouncerTLSSpec, SslMode, TLSConfig } from '../api/types.js';
import { certificateDurationMs, resolveKeySpec, serverCertificateNames } from '../certificates/index.js';
import { certificateSecretName } from '../provisioner/names.js';
import { effectiveSslMode } from '../provisioner/render-ini.js';
import { issuerKey, type CertificatePlan, type Intent, type IssuerSummary, type LiveState, type Plan, type PlanResult } from './types.js';
import { validateRequest } from './validation.js';

export function intentOf(tls: PgBouncerTLSSpec, current: TLSConfig | undefined): Intent {
  if (tls.remove) return 'remove';
  if (tls.rotateCertificates) return 'rotate';
  if (tls.issuerRef && !current?.issuerRef) return 'add';
  if (tls.issuerRef && issuerKey(tls.issuerRef) !== issuerKey(current!.issuerRef!)) return 'change-issuer';
  if (tls.issuerRef || tls.certificates?.length) return 'reissue';
  return 'update-settings';
}

/** The request's certificate specs laid over the PgBouncer's, alias by alias. */
function mergeCertificates(current: CertificateSpec[] = [], requested: CertificateSpec[] = []): CertificateSpec[] {
  const byAlias = new Map(current.map((c) => [c.alias, c]));
  for (const c of requested) byAlias.set(c.alias, { ...byAlias.get(c.alias), ...c });
  return [...byAlias.values()].sort((a, b) => a.alias.localeCompare(b.alias));
}

export function planReconfigureTLS(live: LiveState, options: { hotReload?: boolean } = {}): PlanResult {
  const errors = validateRequest(live);
  if (errors.length) return { ok: false, errors };
  const pb = live.pgbouncer!;
  const tls = live.request.spec.tls!;
  const { namespace, uid: requestUid } = live.request.ref;
  const pbObject: PgBouncer = { apiVersion: 'kubedb.com/v1', kind: 'PgBouncer', metadata: { name: pb.name, namespace }, spec: pb.spec };
  const current = pb.spec.tls;
  const intent = intentOf(tls, current);
  const tlsBefore = Boolean(current?.issuerRef);
  const tlsAfter = intent !== 'remove' && (tlsBefore || Boolean(tls.issuerRef));

  const newTls: TLSConfig | null = tlsAfter
    ? {
        issuerRef: tls.issuerRef ?? current!.issuerRef,
        ...(current?.certificates?.length || tls.certificates?.length ? { certificates: mergeCertificates(current?.certificates, tls.certificates) } : {}),
      }
    : null;
  const sslModeBefore = effectiveSslMode(pbObject);
  const sslMode: SslMode = !tlsAfter ? 'disable' : (tls.sslMode ?? (tlsBefore ? sslModeBefore : 'verify-full'));
  const newPb: PgBouncer = { ...pbObject, spec: { ...pb.spec, tls: newTls ?? undefined, sslMode } };
  const warnings: string[] = [];

  const certificates: CertificatePlan[] = [];
  if (['add', 'rotate', 'change-issuer', 'reissue'].includes(intent)) {
    for (const alias of ['server', 'client'] as const) {
      const spec = newTls!.certificates?.find((c) => c.alias === alias) ?? { alias };
      const issuer = live.issuers[issuerKey(spec.issuerRef ?? newTls!.issuerRef!)];
      const field = `spec.tls.certificates[alias=${alias}]`;
      const names =
        alias === 'server'
          ? serverCertificateNames({ name: pb.name, namespace, replicas: pb.spec.replicas ?? 1, clusterDomain: live.clusterDomain, extraDnsNames: spec.dnsNames, extraIpAddresses: spec.ipAddresses, field })
          : { dnsNames: spec.dnsNames ?? [], ipAddresses: spec.ipAddresses ?? [] };
      const secretName = certificateSecretName(newPb, alias);
      const durationMs = certificateDurationMs(spec.duration, `${field}.duration`);
      if (issuer.caNotAfter && Date.parse(live.now) + durationMs > Date.parse(issuer.caNotAfter)) {
        warnings.push(`${alias} certificate: the CA of ${issuer.kind} "${issuer.name}" expires ${issuer.caNotAfter}, before the requested duration ends; the certificate will end with the CA`);
      }
      certificates.push({
        alias,
        usage: alias,
        secretName,
        stagingSecretName: `${secretName}-next-${requestUid.slice(0, 8)}`,
        issuer,
        commonName: alias === 'server' ? pb.name : 'pgbouncer',
        subject: spec.subject,
        dnsNames: names.dnsNames,
        ipAddresses: names.ipAddresses,
        uris: spec.uris ?? [],
        emailAddresses: spec.emailAddresses ?? [],
        durationMs,
        privateKey: resolveKeySpec(spec.privateKey, `${field}.privateKey`),
      });
    }
    if (newTls!.certificates?.some((c) => c.alias === 'metrics-exporter')) {
      warnings.push('spec.tls.certificates[alias=metrics-exporter]: no metrics exporter runs beside these PgBouncers; no certificate is issued for it');
    }
  }

  // Replaced or removed certificates go on their CA's revocation list.
  const oldIssuer: IssuerSummary | undefined = current?.issuerRef ? live.issuers[issuerKey(current.issuerRef)] : undefined;
  const revoke: Plan['revoke'] = [];
  if (intent !== 'add' && intent !== 'update-settings' && oldIssuer) {
    if (oldIssuer.problem) warnings.push(`the old certificates cannot be recorded as revoked: ${oldIssuer.problem}`);
    else for (const c of Object.values(live.certificates)) if (c) revoke.push({ alias: c.alias, serialHex: c.serialHex, issuer: oldIssuer });
  }

  const reloadable =
    options.hotReload === true &&
    (intent === 'rotate' || intent === 'reissue') &&
    certificates.every((c) => !oldIssuer || issuerKey(c.issuer) === issuerKey(oldIssuer)) &&
    sslMode === sslModeBefore &&
    !tls.clientAuthMode;
  const pods = [...live.pods]
    .sort((a, b) => b.ordinal - a.ordinal)
    .map((p) => ({ name: p.name, uid: p.uid, ordinal: p.ordinal, method: reloadable ? ('reload' as const) : ('restart' as const) }));

  if (sslMode === 'verify-ca' || sslMode === 'verify-full') {
    warnings.push(`sslMode ${sslMode}: every application client must present a certificate signed by the CA in ca.crt, or its connections are refused`);
  }
  if ((pb.spec.replicas ?? 1) === 1 && pods.some((p) => p.method === 'restart')) {
    warnings.push('replicas is 1: restarting the only pod interrupts every connection until it is Ready again');
  }

  return {
    ok: true,
    plan: {
      intent,
      pgbouncer: { namespace, name: pb.name, uid: pb.uid },
      newSpec: { tls: newTls, sslMode, ...(tls.clientAuthMode ? { authType: tls.clientAuthMode } : {}) },
      tlsBefore,
      tlsAfter,
      certificates,
      revoke,
      deleteSecrets: intent === 'remove' ? [certificateSecretName(pbObject, 'server'), certificateSecretName(pbObject, 'client')] : [],
      caBundleDuringRoll: intent === 'change-issuer' ? 'old+new' : 'new',
      pods,
      warnings,
    },
  };
}

/** The plan as a person reads it (the CLI's `plan`). */
export function describePlan(plan: Plan): string {
  const lines = [`${plan.intent} on PgBouncer ${plan.pgbouncer.namespace}/${plan.pgbouncer.name}: TLS ${plan.tlsBefore ? 'on' : 'off'} → ${plan.tlsAfter ? 'on' : 'off'}, sslMode ${plan.newSpec.sslMode}`];
  for (const c of plan.certificates) {
    lines.push(`  mint ${c.alias} certificate into Secret ${c.secretName} from ${c.issuer.kind} "${c.issuer.name}" (${c.privateKey.algorithm} ${c.privateKey.size}, ${Math.round(c.durationMs / 3_600_000)}h)`);
    if (c.dnsNames.length || c.ipAddresses.length) lines.push(`    SANs: ${[...c.dnsNames, ...c.ipAddresses].join(', ')}`);
  }
  for (const r of plan.revoke) lines.push(`  revoke ${r.alias} serial ${r.serialHex} (CRL of ${r.issuer.kind} "${r.issuer.name}")`);
  for (const s of plan.deleteSecrets) lines.push(`  delete Secret ${s}`);
  if (plan.caBundleDuringRoll === 'old+new') lines.push('  ca.crt carries old and new CA during the roll, only the new one after');
  lines.push(`  pods, one at a time: ${plan.pods.map((p) => `${p.name} (${p.method})`).join(', ') || 'none'}`);
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

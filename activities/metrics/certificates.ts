// The worker's certificate gauges, set each time a renewal workflow inspects its pooler:
//   pgbtls_certificate_expiry_timestamp_seconds{namespace,pgbouncer,alias}   notAfter
//   pgbtls_certificate_renewal_timestamp_seconds{namespace,pgbouncer,alias}  when it renews
//   pgbtls_ca_expiry_timestamp_seconds{namespace,pgbouncer,alias}            its CA's notAfter
//   pgbtls_ca_within_renewal_margin{namespace,pgbouncer,alias}               1: the CA needs renewing
// and the counter pgbtls_certificate_renewals{namespace,pgbouncer,outcome} (one per finished try).
// A gauge cannot be removed from the SDK's exporter: a pooler that lost TLS or was deleted reads 0.
import type { MetricMeter } from '@temporalio/common';
import { caInRenewalMargin, type CertificateFacts, type RenewalPlan } from '../../lib/renewal/policy.js';

const seconds = (iso: string | undefined) => (iso ? Math.round(Date.parse(iso) / 1000) : 0);

export function createCertificateMetrics(meter: MetricMeter) {
  const gauge = (name: string, description: string) => meter.createGauge(name, 'int', '', description);
  const expiry = gauge('pgbtls_certificate_expiry_timestamp_seconds', 'Certificate notAfter');
  const renewal = gauge(
    'pgbtls_certificate_renewal_timestamp_seconds',
    'When the certificate is renewed (its renewal time, moved by the maintenance window and retries)',
  );
  const caExpiry = gauge('pgbtls_ca_expiry_timestamp_seconds', "The issuing CA's notAfter");
  const caMargin = gauge(
    'pgbtls_ca_within_renewal_margin',
    '1 when the issuing CA has less than a third of its lifetime left',
  );
  const renewals = meter.createCounter('pgbtls_certificate_renewals', '', 'Finished renewal tries by outcome');
  /** Aliases published per pooler, so a pooler that lost a certificate reads 0 for it. */
  const published = new Map<string, Set<string>>();

  return {
    publish(pb: { namespace: string; name: string }, certificates: CertificateFacts[], plan?: RenewalPlan): void {
      const key = `${pb.namespace}/${pb.name}`;
      const before = published.get(key) ?? new Set<string>();
      const now = new Set(certificates.map((c) => c.alias));
      for (const alias of before) {
        if (now.has(alias)) continue;
        const tags = { namespace: pb.namespace, pgbouncer: pb.name, alias };
        for (const g of [expiry, renewal, caExpiry, caMargin]) g.set(0, tags);
      }
      published.set(key, now);
      for (const c of certificates) {
        const tags = { namespace: pb.namespace, pgbouncer: pb.name, alias: c.alias };
        expiry.set(seconds(c.notAfter), tags);
        // The deciding certificate renews at the plan's time (window, retries); the others with it.
        const own = plan?.certificates.find((s) => s.alias === c.alias)?.renewAt;
        renewal.set(seconds(plan?.at && !plan.blocked ? plan.at : own), tags);
        caExpiry.set(seconds(c.ca?.notAfter), tags);
        caMargin.set(c.ca && caInRenewalMargin(c.ca, Date.now()) ? 1 : 0, tags);
      }
    },
    countRenewal(pb: { namespace: string; name: string }, outcome: string): void {
      renewals.add(1, { namespace: pb.namespace, pgbouncer: pb.name, outcome });
    },
  };
}

export type CertificateMetrics = ReturnType<typeof createCertificateMetrics>;

// CA material for the corpus's CA Secret shapes, made at run time (no key is ever committed): the
// library's own CA maker where it can express the shape, openssl where it cannot.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCA } from '../../lib/certificates/index.js';
import type { CaShape } from './shapes.js';

const DAY = 86_400_000;

/** Runs openssl commands in a temp dir; returns the files asked for. */
function withOpenssl(config: string, commands: string[][], outputs: string[]): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'pgbtls-corpus-'));
  try {
    writeFileSync(join(dir, 'ext.cnf'), config);
    for (const args of commands) execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    return Object.fromEntries(outputs.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cnf = (cn: string, ext: string) =>
  `[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ext\n[dn]\nCN = ${cn}\n[ext]\n${ext}\nsubjectKeyIdentifier = hash\n`;

/** A self-signed certificate with exactly the extensions given, and its key. */
function selfSigned(cn: string, ext: string, keyArgs = ['-newkey', 'rsa:2048']): { crt: string; key: string } {
  const out = withOpenssl(
    cnf(cn, ext),
    [['req', '-x509', ...keyArgs, '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '30', '-config', 'ext.cnf']],
    ['c.pem', 'k.pem'],
  );
  return { crt: out['c.pem'], key: out['k.pem'] };
}

const CA_EXT = 'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign';

/** The data of a CA Secret of the given shape (string values; the caller base64s them). */
export async function caSecretData(shape: CaShape | 'good'): Promise<Record<string, string>> {
  const now = Date.now();
  switch (shape) {
    case 'good': {
      const ca = await createSelfSignedCA({ commonName: 'corpus good CA', notAfter: new Date(now + 365 * DAY) });
      return { 'tls.crt': ca.certPem, 'tls.key': ca.keyPem };
    }
    case 'expired': {
      const ca = await createSelfSignedCA({
        commonName: 'corpus expired CA',
        notBefore: new Date(now - 60 * DAY),
        notAfter: new Date(now - DAY),
      });
      return { 'tls.crt': ca.certPem, 'tls.key': ca.keyPem };
    }
    case 'not-yet-valid': {
      const ca = await createSelfSignedCA({
        commonName: 'corpus future CA',
        notBefore: new Date(now + DAY),
        notAfter: new Date(now + 365 * DAY),
      });
      return { 'tls.crt': ca.certPem, 'tls.key': ca.keyPem };
    }
    case 'key-mismatch': {
      const a = await createSelfSignedCA({ commonName: 'corpus CA A', notAfter: new Date(now + 365 * DAY) });
      const b = await createSelfSignedCA({ commonName: 'corpus CA B', notAfter: new Date(now + 365 * DAY) });
      return { 'tls.crt': a.certPem, 'tls.key': b.keyPem };
    }
    case 'garbage':
      return { 'tls.crt': 'this is not a certificate', 'tls.key': 'nor is this a key' };
    case 'missing-key': {
      const ca = await createSelfSignedCA({ commonName: 'corpus keyless CA', notAfter: new Date(now + 365 * DAY) });
      return { 'tls.crt': ca.certPem };
    }
    case 'not-a-ca': {
      const leaf = selfSigned('corpus leaf', 'basicConstraints = critical, CA:FALSE\nkeyUsage = digitalSignature');
      return { 'tls.crt': leaf.crt, 'tls.key': leaf.key };
    }
    case 'no-crl-sign': {
      const ca = selfSigned(
        'corpus no-cRLSign CA',
        'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign',
      );
      return { 'tls.crt': ca.crt, 'tls.key': ca.key };
    }
    case 'ec-secp256k1': {
      const ca = selfSigned('corpus secp256k1 CA', CA_EXT, [
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:secp256k1',
      ]);
      return { 'tls.crt': ca.crt, 'tls.key': ca.key };
    }
    case 'rsa-1024': {
      const ca = selfSigned('corpus RSA-1024 CA', CA_EXT, ['-newkey', 'rsa:1024']);
      return { 'tls.crt': ca.crt, 'tls.key': ca.key };
    }
    case 'intermediate-pathlen0': {
      const out = withOpenssl(
        `${cnf('corpus root CA', CA_EXT)}[inter]\nbasicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign\n`,
        [
          [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            'rk.pem',
            '-out',
            'r.pem',
            '-days',
            '30',
            '-config',
            'ext.cnf',
          ],
          [
            'req',
            '-new',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            'ik.pem',
            '-out',
            'i.csr',
            '-subj',
            '/CN=corpus intermediate CA',
          ],
          [
            'x509',
            '-req',
            '-in',
            'i.csr',
            '-CA',
            'r.pem',
            '-CAkey',
            'rk.pem',
            '-CAcreateserial',
            '-out',
            'i.pem',
            '-days',
            '30',
            '-extfile',
            'ext.cnf',
            '-extensions',
            'inter',
          ],
        ],
        ['i.pem', 'ik.pem', 'r.pem'],
      );
      // As cert-manager keeps an intermediate: tls.crt the intermediate then its chain, ca.crt the root.
      return { 'tls.crt': out['i.pem'] + out['r.pem'], 'tls.key': out['ik.pem'], 'ca.crt': out['r.pem'] };
    }
  }
}

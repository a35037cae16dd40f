// Test helpers: run the real openssl CLI against files in a throw-away directory, so every claim
// about our DER is checked by an independent implementation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpensslResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions on openssl's messages. */
  output: string;
}

export function openssl(args: string[], input?: string): OpensslResult {
  const result = spawnSync('openssl', args, { encoding: 'utf8', input });
  if (result.error) throw result.error;
  return {
    code: result.status ?? -1,
    stdout: result.stdout,
    stderr: result.stderr,
    output: result.stdout + result.stderr,
  };
}

/** A temp directory for PEM files; `write` returns the path. Call `cleanup` in afterAll. */
export function tempFiles(): { write(name: string, content: string): string; cleanup(): void; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pgbtls-certs-'));
  let counter = 0;
  return {
    dir,
    write(name, content) {
      const path = join(dir, `${counter++}-${name}`);
      writeFileSync(path, content);
      return path;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `openssl x509 -noout -ext …` output for one certificate. */
export function extensionsText(files: ReturnType<typeof tempFiles>, certPem: string, names: string): string {
  const result = openssl(['x509', '-in', files.write('cert.pem', certPem), '-noout', '-ext', names]);
  if (result.code !== 0) throw new Error(result.output);
  return result.stdout;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface OpensslCAOptions {
  /** `-newkey` argument plus options, e.g. `['ec', '-pkeyopt', 'ec_paramgen_curve:P-521']`. */
  newKey: string[];
  /** `-subj` value; UTF-8 allowed. */
  subject: string;
  /** `string_mask` of the request config: `pkix` writes non-ASCII names as BMPString. */
  stringMask?: string;
  basicConstraints?: string;
  keyUsage?: string;
  days?: number;
}

/** A CA made by openssl itself (a stand-in for a user's own CA Secret). */
export function opensslCA(
  files: ReturnType<typeof tempFiles>,
  options: OpensslCAOptions,
): { certPem: string; keyPem: string } {
  const config = files.write(
    'req.cnf',
    [
      '[req]',
      'distinguished_name = dn',
      `string_mask = ${options.stringMask ?? 'utf8only'}`,
      'x509_extensions = ext',
      '[dn]',
      '[ext]',
      `basicConstraints = ${options.basicConstraints ?? 'critical,CA:true'}`,
      `keyUsage = ${options.keyUsage ?? 'critical,keyCertSign,cRLSign'}`,
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  const keyPath = files.write('openssl-ca.key', '');
  const certPath = files.write('openssl-ca.crt', '');
  const result = openssl([
    'req',
    '-x509',
    '-config',
    config,
    '-utf8',
    '-subj',
    options.subject,
    '-nodes',
    '-newkey',
    ...options.newKey,
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    String(options.days ?? 30),
  ]);
  if (result.code !== 0) throw new Error(result.output);
  return { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
}

/** The label of a PEM's first block, e.g. "RSA PRIVATE KEY" (tests assert on it, never on key text). */
export function pemLabel(pem: string): string | undefined {
  return /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
}

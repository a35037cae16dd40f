// The CLI's input handling and error mapping, without servers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { CliError, EXIT, readManifest, toCliError } from '../../../client/cli.js';
import { isTemporalUnavailable } from '../../../client/watcher.js';

const dir = mkdtempSync(join(tmpdir(), 'pgbtls-unit-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const request = `apiVersion: ops.kubedb.com/v1alpha1
kind: PgBouncerOpsRequest
metadata: { name: r1 }
spec: { type: ReconfigureTLS, databaseRef: { name: pb }, tls: { rotateCertificates: true } }
`;

describe('readManifest', () => {
  test('defaults the namespace, or takes -n', () => {
    expect(readManifest(file('a.yaml', request), undefined).metadata.namespace).toBe('default');
    expect(readManifest(file('b.yaml', request), 'demo').metadata.namespace).toBe('demo');
  });

  test.each([
    ['invalid YAML', 'kind: [x\n', /invalid YAML.*line/],
    ['not an object', '- a\n- b\n', /expected one PgBouncerOpsRequest/],
    ['wrong kind', 'apiVersion: v1\nkind: Secret\nmetadata: { name: x }\n', /kind must be PgBouncerOpsRequest/],
    ['no name', request.replace('metadata: { name: r1 }', 'metadata: {}'), /metadata.name is required/],
  ])('%s: exit 2 with one line', (_, text, pattern) => {
    let error: unknown;
    try {
      readManifest(file('bad.yaml', text), undefined);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.badInput);
    expect((error as CliError).message).toMatch(pattern);
    expect((error as CliError).message).not.toContain('\n');
  });

  test('a missing file or namespace mismatch is bad input', () => {
    expect(() => readManifest(join(dir, 'nope.yaml'), undefined)).toThrow(/cannot read/);
    const other = file('c.yaml', request.replace('{ name: r1 }', '{ name: r1, namespace: a }'));
    expect(() => readManifest(other, 'b')).toThrow(/does not match -n b/);
  });
});

describe('toCliError', () => {
  const api = (code: number, message: string) =>
    new ApiException(code, 'x', JSON.stringify({ reason: 'R', message }), {});
  test.each([
    [api(404, 'not there'), EXIT.notFound],
    [api(422, 'spec.tls: bad'), EXIT.badInput],
    [api(409, 'exists'), EXIT.badInput],
    [api(503, 'busy'), EXIT.unreachable],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), EXIT.unreachable],
    [Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }), EXIT.unreachable],
  ])('%p → exit %p', (err, code) => {
    expect(toCliError(err).exitCode).toBe(code);
  });

  test('gRPC unavailability is told apart from other errors', () => {
    expect(isTemporalUnavailable(Object.assign(new Error('x'), { code: 14 }))).toBe(true);
    expect(isTemporalUnavailable(new Error('workflow not found'))).toBe(false);
  });
});

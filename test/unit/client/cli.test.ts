// The CLI's input handling and error mapping, without servers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { ApiException } from '@kubernetes/client-node';
import { ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { CliError, EXIT, readManifest, toCliError } from '../../../client/cli.js';
import { isTemporalUnavailable } from '../../../client/temporal.js';

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

/** A gRPC error as @grpc/grpc-js delivers it, wrapped the way the Temporal client wraps a failed call. */
const grpcError = (code: status, details: string) =>
  Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
const failedCall = (code: status, details: string) =>
  new ServiceError('Failed to start Workflow', { cause: grpcError(code, details) });

describe('toCliError', () => {
  const api = (code: number, message: string) =>
    new ApiException(code, 'x', JSON.stringify({ reason: 'R', message }), {});
  test.each([
    ['Kubernetes 404', api(404, 'not there'), EXIT.notFound],
    ['Kubernetes 422', api(422, 'spec.tls: bad'), EXIT.badInput],
    ['Kubernetes 409', api(409, 'exists'), EXIT.badInput],
    ['Kubernetes 503', api(503, 'busy'), EXIT.unreachable],
    [
      'no Kubernetes answer',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      EXIT.unreachable,
    ],
    ['Temporal UNAVAILABLE', failedCall(status.UNAVAILABLE, 'No connection established'), EXIT.unreachable],
    ['no such workflow', new WorkflowNotFoundError('workflow not found for ID: x', 'x', undefined), EXIT.notFound],
  ])('%s → exit %p', (_, err, code) => {
    expect(toCliError(err).exitCode).toBe(code);
  });

  test('a Temporal outage names the gRPC cause, on one line', () => {
    const e = toCliError(failedCall(status.UNAVAILABLE, 'No connection\nestablished'));
    expect(e.message).toBe('Temporal unreachable: 14 UNAVAILABLE: No connection established');
  });
});

describe('isTemporalUnavailable', () => {
  test.each([
    ['UNAVAILABLE in a failed call', failedCall(status.UNAVAILABLE, 'No connection established'), true],
    ['DEADLINE_EXCEEDED', failedCall(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), true],
    ['RESOURCE_EXHAUSTED, bare', grpcError(status.RESOURCE_EXHAUSTED, 'rate limited'), true],
    ['INVALID_ARGUMENT', failedCall(status.INVALID_ARGUMENT, 'bad search attribute'), false],
    // The type decides, not the words: a message that merely says "UNAVAILABLE" is not an outage.
    ['a plain error that says UNAVAILABLE', new Error('14 UNAVAILABLE: failed to connect'), false],
    ['a plain code 14', Object.assign(new Error('x'), { code: 14 }), false],
  ])('%s → %p', (_, err, expected) => {
    expect(isTemporalUnavailable(err)).toBe(expected);
  });
});

import { KubeConfig } from '@kubernetes/client-node';
import { bundleWorkflowCode } from '@temporalio/worker';
import forge from 'node-forge';
import { redact } from '../../src/lib/log.js';

test('imports', () => {
  expect(typeof KubeConfig).toBe('function');
  expect(typeof bundleWorkflowCode).toBe('function');
  expect(typeof forge.pki.createCertificate).toBe('function');
  expect(redact('a -----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY----- b')).toBe('a [REDACTED PRIVATE KEY] b');
});

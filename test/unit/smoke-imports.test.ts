import { KubeConfig } from '@kubernetes/client-node';
import { bundleWorkflowCode } from '@temporalio/worker';
import forge from 'node-forge';
import { generatePrivateKey } from '../../lib/certificates/index.js';
import { redact } from '../../lib/log.js';

test('imports', async () => {
  expect(typeof KubeConfig).toBe('function');
  expect(typeof bundleWorkflowCode).toBe('function');
  expect(typeof forge.pki.createCertificate).toBe('function');
  // A key made here, not one kept in the repository.
  const { keyPem } = await generatePrivateKey({ algorithm: 'ECDSA', encoding: 'PKCS8' });
  expect(redact(`a ${keyPem.trim()} b`)).toBe('a [REDACTED PRIVATE KEY] b');
});

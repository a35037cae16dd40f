import { describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../../lib/config.js';

describe('loadConfig: hot reload and served-certificate settings', () => {
  test('defaults: hot reload on, two minutes for a pod to serve the intended certificate', () => {
    const config = loadConfig({});
    expect(config.hotReload).toBe(true);
    expect(config.servedCertificateTimeoutMs).toBe(120_000);
  });

  test.each([
    ['false', false],
    ['0', false],
    ['no', false],
    ['TRUE', true],
    ['1', true],
  ])('PGBTLS_HOT_RELOAD=%s → %s', (value, expected) => {
    expect(loadConfig({ PGBTLS_HOT_RELOAD: value }).hotReload).toBe(expected);
  });

  test('a value that is not a boolean names the variable and the fix', () => {
    expect(() => loadConfig({ PGBTLS_HOT_RELOAD: 'sometimes' })).toThrow(
      'PGBTLS_HOT_RELOAD: "sometimes" is not a boolean; set it to true or false, or unset it',
    );
  });

  test('a timeout that is not a positive whole number is refused', () => {
    expect(loadConfig({ PGBTLS_SERVED_CERTIFICATE_TIMEOUT_MS: '30000' }).servedCertificateTimeoutMs).toBe(30_000);
    expect(() => loadConfig({ PGBTLS_SERVED_CERTIFICATE_TIMEOUT_MS: '-5' })).toThrow(
      /PGBTLS_SERVED_CERTIFICATE_TIMEOUT_MS: "-5" is not a positive whole number/,
    );
  });
});

describe('loadConfig: health endpoints', () => {
  test('the worker serves /healthz by default; the watcher and provisioner only when PGBTLS_HEALTH_ADDRESS is set', () => {
    expect(loadConfig({})).toMatchObject({ healthAddress: '127.0.0.1:9465', serviceHealthAddress: '' });
    expect(loadConfig({ PGBTLS_HEALTH_ADDRESS: '0.0.0.0:9465' })).toMatchObject({
      healthAddress: '0.0.0.0:9465',
      serviceHealthAddress: '0.0.0.0:9465',
    });
  });
});

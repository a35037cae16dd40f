import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeSettings } from '../../../stack/temporal-dev-server.js';
import { repoRoot } from '../../../stack/tools.js';

const compose = readFileSync(join(repoRoot(), 'temporal-dev.yml'), 'utf8');

test('the native launcher takes its flags from temporal-dev.yml, binding to loopback', () => {
  const s = nativeSettings(compose, { dataDir: '/state/temporal' });
  expect(s.args.slice(0, 2)).toEqual(['server', 'start-dev']);
  expect(s.args).toContain('--db-filename=/state/temporal/temporal.sqlite');
  expect(s.args).toContain('--ip=127.0.0.1');
  expect(s.args).not.toContain('--ip=0.0.0.0');
  expect(s.grpcPort).toBe(7233);
  expect(s.uiPort).toBe(8233);
  expect(s.namespace).toBe('default');
  expect(s.searchAttributes).toEqual({
    PgBouncer: 'Keyword',
    Namespace: 'Keyword',
    OpsType: 'Keyword',
    Stage: 'Keyword',
  });
});

test('port overrides replace the file’s ports and nothing else', () => {
  const base = nativeSettings(compose, { dataDir: '/d' });
  const s = nativeSettings(compose, { dataDir: '/d', ports: { grpc: 1, ui: 2, http: 3, metrics: 4 } });
  expect([s.grpcPort, s.uiPort]).toEqual([1, 2]);
  expect(s.args).toEqual(expect.arrayContaining(['--port=1', '--ui-port=2', '--http-port=3', '--metrics-port=4']));
  expect(s.args.filter((a) => a.startsWith('--port'))).toHaveLength(1);
  expect(s.args.length).toBe(base.args.length);
});

test('a compose file without the temporal service is refused with the field named', () => {
  expect(() => nativeSettings('services: {}\n', { dataDir: '/d' })).toThrow('services.temporal.command');
});

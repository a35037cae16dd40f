// The processes' health endpoint: /healthz answers 200 while `state()` says RUNNING (the worker:
// while it polls; the watcher and the provisioner: until they begin to stop), 503 otherwise.
import { createServer, type Server } from 'node:http';

export function serveHealth(address: string, state: () => string): Promise<Server> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  const server = createServer((req, res) => {
    if (req.url !== '/healthz' && req.url !== '/readyz') {
      res.writeHead(404).end();
      return;
    }
    const current = state();
    res.writeHead(current === 'RUNNING' ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ state: current }) + '\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

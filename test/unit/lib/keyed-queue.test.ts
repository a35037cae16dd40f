import { KeyedSerialQueue } from '../../../lib/keyed-queue.js';

const tick = () => new Promise((r) => setTimeout(r, 5));
async function idle(queue: KeyedSerialQueue) {
  while (queue.size > 0) await tick();
}

test('one run at a time per key; events during a run coalesce into one more run', async () => {
  let running = 0;
  let maxRunning = 0;
  const runs: string[] = [];
  const queue = new KeyedSerialQueue(async (key) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    runs.push(key);
    await tick();
    running--;
  });
  queue.enqueue('a');
  for (let i = 0; i < 5; i++) queue.enqueue('a');
  await idle(queue);
  expect(maxRunning).toBe(1);
  expect(runs).toEqual(['a', 'a']);
});

test('different keys run in parallel', async () => {
  let running = 0;
  let maxRunning = 0;
  const queue = new KeyedSerialQueue(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await tick();
    running--;
  });
  queue.enqueue('a');
  queue.enqueue('b');
  expect(queue.size).toBe(2);
  await queue.drain();
  expect(maxRunning).toBe(2);
});

test('drain waits for the run in progress but drops the coalesced re-run and new work', async () => {
  const runs: string[] = [];
  const queue = new KeyedSerialQueue(async (key) => {
    runs.push(key);
    await tick();
  });
  queue.enqueue('a');
  queue.enqueue('a');
  await queue.drain();
  queue.enqueue('b');
  await tick();
  expect(runs).toEqual(['a']);
});

test('a failing run does not block the key', async () => {
  const runs: number[] = [];
  const queue = new KeyedSerialQueue(async () => {
    runs.push(runs.length);
    if (runs.length === 1) throw new Error('boom');
  });
  queue.enqueue('a');
  await tick();
  queue.enqueue('a');
  await tick();
  await queue.drain();
  queue.enqueue('a');
  await tick();
  expect(runs).toEqual([0, 1]);
});

// Reads recorded histories (test/histories/*.json by default) and prints, per run: wall time,
// time spent waiting for pods, and the orchestration overhead per pod step (the roll's wall time
// minus the pod waits, per pod). Usage: node scripts/history-timings.mjs [history.json ...]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', 'test', 'histories');
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(dir, f));

for (const file of files.sort()) {
  const events = JSON.parse(readFileSync(file, 'utf8')).events;
  const at = (e) => Date.parse(e.eventTime);
  const byId = new Map(events.map((e) => [e.eventId, e]));
  const scheduledOf = (d) => byId.get(d.activityTaskCompletedEventAttributes.scheduledEventId);
  const typeOf = (d) => scheduledOf(d).activityTaskScheduledEventAttributes.activityType.name;
  const done = events.filter((e) => e.activityTaskCompletedEventAttributes);
  const restarts = done.filter((d) => typeOf(d) === 'evictPodAndWaitReady');
  const row = { run: file.split('/').pop().replace('.json', ''), wallMs: at(events.at(-1)) - at(events[0]) };
  const list = done.find((d) => typeOf(d) === 'listPodUids');
  if (list && restarts.length) {
    const last = restarts.at(-1);
    const afterRoll = done.find((d) => at(d) > at(last) && typeOf(d) === 'updateRequestStatus') ?? last;
    const podWaitMs = restarts.reduce((sum, d) => sum + at(d) - at(scheduledOf(d)), 0);
    Object.assign(row, {
      pods: restarts.length,
      podWaitMs,
      overheadPerPodStepMs: Math.round((at(afterRoll) - at(list) - podWaitMs) / restarts.length),
    });
  }
  console.log(JSON.stringify(row));
}

// A logger whose lines a test can count ("one line per outage, not one per retry"). Warnings and
// errors still go to stderr, so a failing run explains itself.
import { createLogger, type LogFields, type Logger } from '../../lib/log.js';

export interface CapturedLogs {
  logger: Logger;
  /** Every line so far, parsed. */
  records(): LogFields[];
  /** How many lines so far have a message matching `msg`. */
  count(msg: string | RegExp): number;
  clear(): void;
}

export function captureLogs(base: LogFields = {}): CapturedLogs {
  let lines: LogFields[] = [];
  const logger = createLogger(base, 'debug', (line) => {
    const record = JSON.parse(line) as LogFields;
    lines.push(record);
    if (record.level === 'warn' || record.level === 'error') process.stderr.write(line + '\n');
  });
  const matches = (msg: string | RegExp, text: unknown) =>
    typeof msg === 'string' ? text === msg : msg.test(String(text));
  return {
    logger,
    records: () => [...lines],
    count: (msg) => lines.filter((r) => matches(msg, r.msg)).length,
    clear: () => {
      lines = [];
    },
  };
}

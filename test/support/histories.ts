// Recording workflow histories for the replay suite (npm run histories:record): each scenario's
// history is written to test/histories/<scenario>.json, after proving it holds no key material.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { repoRoot } from '../../stack/tools.js';

export const HISTORIES_DIR = join(repoRoot(), 'test', 'histories');

/** PEM private keys, and the same header base64-encoded (as Secret data would carry it). */
const KEY_MATERIAL = [/PRIVATE KEY/, /LS0tLS1CRUdJTi[A-Za-z0-9+/=]*UFJJVkFURSBLRV/, /BEGIN [A-Z ]*PRIVATE/];

export function findKeyMaterial(text: string): string | undefined {
  return KEY_MATERIAL.find((re) => re.test(text))?.source;
}

/**
 * Histories are recorded as <scenario>.<series>.json. When a workflow change goes behind
 * patched(), bump the series: the new recordings then lie beside the old ones, which must keep
 * replaying. v1 (no suffix): before served-certificate checks; v2: with them and hot reload; v3:
 * bounded compensation, the point of no return, replica checks and continueAsNew while waiting;
 * v4: patched('drain-before-restart'), a drain before every restart and reload where the planner's
 * table allows; v4-fleet: patched('fleet-budget'), the plan kept when the turn comes at once and the
 * swap's two conditions in one status write; v5: both patches.
 */
export const HISTORY_SERIES = 'v5';

export const recording = () => process.env.PGBTLS_RECORD_HISTORIES === '1';

export async function recordHistory(scenario: string, handle: WorkflowHandle): Promise<void> {
  if (!recording()) return;
  const json = historyToJSON(await handle.fetchHistory());
  const found = findKeyMaterial(json);
  if (found)
    throw new Error(
      `history of scenario "${scenario}" contains private-key material (${found}); refusing to record it`,
    );
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(
    join(HISTORIES_DIR, `${scenario}.${HISTORY_SERIES}.json`),
    JSON.stringify(JSON.parse(json), null, 1) + '\n',
  );
}

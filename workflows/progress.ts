// What the workflow tells the outside while it runs: the typed progress query, and the search
// attributes the UI filters on. Shared by the workflow and its clients (CLI, tests); no I/O.
import { defineQuery } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export type PodProgressStatus =
  'pending' | 'draining' | 'restarting' | 'reloading' | 'verifying' | 'done' | 'rolled-back' | 'failed';

export interface Progress {
  stage: string;
  intent?: string;
  pods: { name: string; method: 'restart' | 'reload'; status: PodProgressStatus }[];
  certificates: { alias: string; serialHex: string; notAfter: string }[];
  compensating: boolean;
  error?: string;
}

export const progressQuery = defineQuery<Progress>('progress');

export const SEARCH_ATTRIBUTES = {
  pgbouncer: defineSearchAttributeKey('PgBouncer', SearchAttributeType.KEYWORD),
  namespace: defineSearchAttributeKey('Namespace', SearchAttributeType.KEYWORD),
  opsType: defineSearchAttributeKey('OpsType', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('Stage', SearchAttributeType.KEYWORD),
};

// A tiny workflow for the stack's own tests: it holds state (the signals it got) and finishes
// only when released, so a test can restart the server in between.
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';

export const noteSignal = defineSignal<[string]>('note');
export const releaseSignal = defineSignal('release');
export const notesQuery = defineQuery<string[]>('notes');

export async function waitForRelease(first: string): Promise<string[]> {
  const notes = [first];
  let released = false;
  setHandler(noteSignal, (note) => void notes.push(note));
  setHandler(releaseSignal, () => void (released = true));
  setHandler(notesQuery, () => notes);
  await condition(() => released);
  return notes;
}

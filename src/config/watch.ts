import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onChange` once a burst of writes to `file` settles. The directory is watched,
 * not the file, because editors replace files by rename and a file watch would go deaf.
 */
export function watchConfigFile(file: string, onChange: () => void, settleMs = 150): () => void {
  const name = basename(file);
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => { timer = null; onChange(); }, settleMs);
    });
    watcher.unref();
  } catch {
    // No inotify (some containers): SIGHUP still reloads.
  }
  return () => { if (timer) clearTimeout(timer); watcher?.close(); };
}

import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

// Watches the config file and the policy files for edits. Directories are watched rather than the
// files themselves: editors and `policy rollback` replace a file by renaming a new one over it, which
// a watch on the old file never sees. Events are debounced: one save is often several events.

export function watchFiles(files: string[], dirs: string[], onChange: () => void, debounceMs = 250): () => void {
  const byDir = new Map<string, Set<string> | 'any-policy'>();
  for (const dir of dirs) byDir.set(dir, 'any-policy');
  for (const file of files) {
    const dir = dirname(file);
    const names = byDir.get(dir);
    if (names === 'any-policy') continue;
    byDir.set(dir, (names ?? new Set<string>()).add(basename(file)));
  }
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      if (!statSync(dir).isDirectory()) continue;
      const w = watch(dir, { persistent: false }, (_event, name) => {
        const file = name?.toString();
        // A null name (some platforms) could be anything: reload, the set is checked anyway.
        if (!file || (names === 'any-policy' ? /\.ya?ml$/.test(file) : names.has(file))) fire();
      });
      w.on('error', () => undefined); // a deleted directory: the next reload reports it
      watchers.push(w);
    } catch {
      /* a path that does not exist now: nothing to watch */
    }
  }
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}

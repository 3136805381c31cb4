import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { policyFiles } from './compile.js';

// The last N policy sets that loaded cleanly, under <dataDir>/policy-history/<id>/: a copy of each
// file's text and a manifest of where it came from. `policy rollback` writes a set back over the
// configured paths; the running firewall then reloads it like any other edit. A set identical to the
// newest saved one is not saved again.

export interface SavedFile {
  /** Where the file was read from. */
  path: string;
  sha256: string;
  /** Its copy's name inside the set's directory. */
  copy: string;
}

export interface SavedSet {
  id: string;
  savedAt: string;
  /** The config's `policies:` entries (files or directories) when the set was saved. */
  paths: string[];
  files: SavedFile[];
  digest: string;
}

const DIR = 'policy-history';

export function historyDir(dataDir: string): string {
  return join(dataDir, DIR);
}

/** The digest of a set: its files' paths and contents, in load order. */
export function setDigest(sources: Array<{ file: string; text: string }>): string {
  const h = createHash('sha256');
  for (const { file, text } of sources) h.update(`${file}\0${text}\0`);
  return h.digest('hex');
}

/** Saved sets, newest first. A set whose manifest does not parse or names another id is skipped. */
export function listSets(dataDir: string): SavedSet[] {
  const dir = historyDir(dataDir);
  if (!existsSync(dir)) return [];
  const sets: SavedSet[] = [];
  for (const name of readdirSync(dir)) {
    try {
      const set = JSON.parse(readFileSync(join(dir, name, 'manifest.json'), 'utf8')) as SavedSet;
      if (set.id === name && Array.isArray(set.files) && Array.isArray(set.paths)) sets.push(set);
    } catch {
      /* not a set (a temporary directory, or a damaged one): never listed, never restored */
    }
  }
  return sets.sort((a, b) => (a.id < b.id ? 1 : -1));
}

/** Saves a set that just loaded; returns its id, or undefined when it equals the newest saved set. */
export function saveSet(dataDir: string, paths: string[], sources: Array<{ file: string; text: string }>, keep: number, now = new Date()): string | undefined {
  const digest = setDigest(sources);
  const sets = listSets(dataDir);
  if (sets[0]?.digest === digest) return undefined;
  const id = `${now.toISOString().replace(/[:.]/g, '-')}-${digest.slice(0, 12)}`;
  const dir = historyDir(dataDir);
  const tmp = join(dir, `.tmp-${id}`);
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const files = sources.map(({ file, text }, i) => {
    const copy = `${String(i).padStart(3, '0')}-${basename(file)}`;
    writeFileSync(join(tmp, copy), text, { mode: 0o600 });
    return { path: file, sha256: createHash('sha256').update(text).digest('hex'), copy };
  });
  const manifest: SavedSet = { id, savedAt: now.toISOString(), paths, files, digest };
  writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, join(dir, id)); // a set appears whole or not at all
  for (const old of listSets(dataDir).slice(keep)) rmSync(join(dir, old.id), { recursive: true, force: true });
  return id;
}

/**
 * Writes a saved set back over its files. A policy file that is in a configured directory now but
 * was not in the set is renamed to `<name>.rolled-back-<time>` (no longer read, not deleted).
 * The manifest is not trusted (anyone who can write dataDir can edit it): every path it names must
 * be one of `allowed` (the config's policies: files, or directories whose direct *.yaml children
 * are policy files), every copy must be a plain file name in the set's directory, and every copy is
 * checked against its digest before anything is changed. Returns what changed.
 */
export function restoreSet(dataDir: string, id: string, allowed: string[], now = new Date()): { written: string[]; setAside: string[] } {
  const set = listSets(dataDir).find((s) => s.id === id);
  if (!set) throw new Error(`no saved policy set "${id}" in ${historyDir(dataDir)}`);
  const roots = allowed.map((p) => resolve(p));
  const isAllowed = (p: string) => {
    const abs = resolve(p);
    return roots.some((root) => abs === root || (dirname(abs) === root && /\.ya?ml$/.test(abs)));
  };
  const outside = [...set.paths.filter((p) => !roots.includes(resolve(p))), ...set.files.map((f) => f.path).filter((p) => !isAllowed(p))];
  if (outside.length) throw new Error(`set ${id} names paths outside the configured policies (${outside.join(', ')}); not restored`);
  const texts = new Map<string, string>();
  for (const f of set.files) {
    if (f.copy !== basename(f.copy) || f.copy.startsWith('.')) throw new Error(`set ${id} names a copy outside its directory (${f.copy}); not restored`);
    const text = readFileSync(join(historyDir(dataDir), set.id, f.copy), 'utf8');
    if (createHash('sha256').update(text).digest('hex') !== f.sha256) throw new Error(`saved copy ${f.copy} of set ${id} does not match its digest; not restored`);
    texts.set(f.path, text);
  }
  const keepPaths = new Set(set.files.map((f) => f.path));
  const setAside: string[] = [];
  for (const p of set.paths) {
    if (!existsSync(p) || !statSync(p).isDirectory()) continue;
    let current: string[] = [];
    try {
      current = policyFiles([p]);
    } catch {
      /* an empty directory: nothing to set aside */
    }
    for (const file of current) {
      if (keepPaths.has(file)) continue;
      const aside = `${file}.rolled-back-${now.toISOString().replace(/[:.]/g, '-')}`;
      renameSync(file, aside);
      setAside.push(aside);
    }
  }
  const written: string[] = [];
  for (const f of set.files) {
    const text = texts.get(f.path)!;
    if (existsSync(f.path) && readFileSync(f.path, 'utf8') === text) continue;
    mkdirSync(dirname(f.path), { recursive: true });
    const tmp = `${f.path}.restoring`;
    writeFileSync(tmp, text);
    renameSync(tmp, f.path); // a watcher never sees a half-written file
    written.push(f.path);
  }
  return { written, setAside };
}

import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package's root (where package.json is), found from this file whether run from lib/ or dist/lib/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'wecom-firewall') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the wecom-firewall package root');
    dir = parent;
  }
}

export const shippedPoliciesDir = (): string => join(packageRoot(), 'policies');

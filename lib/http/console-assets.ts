import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { packageRoot } from '../paths.js';

// The approvals console: three static files read once at start. The page holds no data; it fetches
// the admin API with the reviewer's token. The policy below forbids inline script, remote content
// and framing, so a hostile message rendered in the page cannot run or phone home.

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS = {
  'content-security-policy': CSP,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

export function loadConsole(dir = join(packageRoot(), 'lib', 'http', 'console')) {
  const files = new Map<string, Buffer>();
  let missing: string | undefined;
  for (const name of Object.keys(ASSETS)) {
    try {
      files.set(name, readFileSync(join(dir, name)));
    } catch {
      missing ??= name;
    }
  }
  const send = (res: Response, name: string) => {
    const body = files.get(name);
    if (!body) {
      res.writeHead(500, { ...HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      res.end(`console file ${missing} is missing from the installed package (${dir}); reinstall wecom-firewall\n`);
      return;
    }
    res.writeHead(200, { ...HEADERS, 'content-type': ASSETS[name]!, 'content-length': body.length });
    res.end(body);
  };
  return {
    page: (_req: Request, res: Response) => send(res, 'index.html'),
    asset: (req: Request, res: Response) => {
      const name = String(req.params.asset);
      if (name !== 'index.html' && ASSETS[name]) return send(res, name);
      res.writeHead(404, { ...HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    },
  };
}

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';

/** A parsed YAML file that can say where a JSON pointer sits, so errors name file and line. */
export interface YamlSource {
  file: string;
  data: unknown;
  /** "file:line" for the node at the pointer (or its nearest existing parent). */
  locate(pointer: string): string;
}

export function parsePointer(pointer: string): string[] {
  if (!pointer) return [];
  return pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function readYaml(file: string, text = readFileSync(file, 'utf8')): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new Error(`${file}:${line}:${col}: YAML syntax error: ${first.message.split('\n')[0]}`);
  }
  return {
    file,
    data: doc.toJS({ maxAliasCount: 100 }),
    locate(pointer) {
      const path = parsePointer(pointer);
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n).map((p) => (/^\d+$/.test(p) ? Number(p) : p)), true) as { range?: [number, number] } | undefined;
        if (node?.range) return `${file}:${lineCounter.linePos(node.range[0]).line}`;
      }
      return file;
    },
  };
}

/** The closest of `candidates` to `word` (edit distance ≤ 1/3 of its length), for "did you mean". */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

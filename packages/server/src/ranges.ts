export type RangeResult =
  /** No usable Range: serve the whole representation with 200. */
  | { kind: 'full' }
  /** One satisfiable range, inclusive offsets: 206. */
  | { kind: 'partial'; start: number; end: number }
  /** Well-formed but nothing satisfiable: 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' };

const FULL: RangeResult = { kind: 'full' };
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' };
const SPEC = /^(\d*)-(\d*)$/;

/**
 * Interprets a Range header against a representation of `size` bytes. Only single byte ranges are
 * served as 206; several ranges get the whole file (RFC 9110 lets a server ignore Range), and a
 * syntactically invalid header is ignored as the RFC requires.
 */
export function parseRange(header: string, size: number): RangeResult {
  const eq = header.indexOf('=');
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return FULL;
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length === 0) return FULL;
  const parsed: RangeResult[] = [];
  for (const spec of specs) {
    const match = SPEC.exec(spec);
    if (match === null) return FULL;
    const [, first = '', last = ''] = match;
    if (first === '' && last === '') return FULL;
    if (first === '') {
      const suffix = Number(last);
      if (suffix === 0 || size === 0) parsed.push(UNSATISFIABLE);
      else parsed.push({ kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(first);
    if (last !== '' && Number(last) < start) return FULL;
    if (start >= size) {
      parsed.push(UNSATISFIABLE);
      continue;
    }
    const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    parsed.push({ kind: 'partial', start, end });
  }
  const satisfiable = parsed.filter((r) => r.kind === 'partial');
  if (satisfiable.length === 0) return UNSATISFIABLE;
  if (parsed.length > 1) return FULL;
  return satisfiable[0]!;
}

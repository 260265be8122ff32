/**
 * A strict, small HTTP/1.x request-head parser. It works on the latin1 text of one request head
 * (request line and header lines, without the blank line that ends it) and fills a caller-owned
 * object, so the hot path allocates nothing but the strings it must keep.
 */

/** Bytes a request head may take, request line included (like node:http's 16 KiB default). */
export const MAX_HEAD_BYTES = 16 * 1024;
export const MAX_HEADERS = 100;
/** Request bodies are read and thrown away; a bigger one is refused rather than swallowed. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface RequestHead {
  method: string;
  target: string;
  /** Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  keepAlive: boolean;
  host: string | undefined;
  contentLength: number;
  transferEncoding: string | undefined;
  expect: string | undefined;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  range: string | undefined;
  ifRange: string | undefined;
  /** Why parsing failed, for logs and tests; empty on success. */
  error: string;
}

export function newRequestHead(): RequestHead {
  return {
    method: '',
    target: '',
    minor: 1,
    keepAlive: true,
    host: undefined,
    contentLength: 0,
    transferEncoding: undefined,
    expect: undefined,
    ifNoneMatch: undefined,
    ifModifiedSince: undefined,
    range: undefined,
    ifRange: undefined,
    error: '',
  };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII except '#': a fragment never belongs in a request, and raw non-ASCII must be encoded.
const TARGET = /^[\x21\x22\x24-\x7e]+$/;
const DIGITS = /^\d+$/;
const HTTP_VERSION = /^HTTP\/\d\.\d$/;

/** Control characters other than tab may not appear in a field value. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

function fail(out: RequestHead, status: number, why: string): number {
  out.error = why;
  return status;
}

/** What the header pass learns besides `out`; module-level and reset per head, so parsing allocates nothing. */
const seen = { hosts: 0, contentLength: -1, connectionClose: false, connectionKeepAlive: false };

function resetHead(out: RequestHead): void {
  out.host = undefined;
  out.contentLength = 0;
  out.transferEncoding = undefined;
  out.expect = undefined;
  out.ifNoneMatch = undefined;
  out.ifModifiedSince = undefined;
  out.range = undefined;
  out.ifRange = undefined;
  out.error = '';
  seen.hosts = 0;
  seen.contentLength = -1;
  seen.connectionClose = false;
  seen.connectionKeepAlive = false;
}

/** Step 1: `METHOD target HTTP/1.x`, the line ending at `lineEnd`. */
function parseRequestLine(text: string, lineEnd: number, out: RequestHead): number {
  const sp1 = text.indexOf(' ');
  if (sp1 <= 0 || sp1 > lineEnd) return fail(out, 400, 'bad request line');
  const sp2 = text.indexOf(' ', sp1 + 1);
  if (sp2 === -1 || sp2 > lineEnd) return fail(out, 400, 'bad request line');
  const method = text.slice(0, sp1);
  if (method !== 'GET' && method !== 'HEAD' && !TOKEN.test(method)) return fail(out, 400, 'bad method');
  const target = text.slice(sp1 + 1, sp2);
  if (!TARGET.test(target)) return fail(out, 400, 'bad request target');
  if (lineEnd - sp2 === 9 && text.startsWith('HTTP/1.', sp2 + 1)) {
    const minor = text.charCodeAt(sp2 + 8);
    if (minor === 49) out.minor = 1;
    else if (minor === 48) out.minor = 0;
    else if (minor >= 48 && minor <= 57) return fail(out, 505, 'unsupported HTTP version');
    else return fail(out, 400, 'bad HTTP version');
  } else if (HTTP_VERSION.test(text.slice(sp2 + 1, lineEnd))) {
    return fail(out, 505, 'unsupported HTTP version');
  } else {
    return fail(out, 400, 'bad HTTP version');
  }
  out.method = method;
  out.target = target;
  return 0;
}

/** Step 2: every header line from `pos` on, each checked and handed to noteField. */
function parseFields(text: string, pos: number, out: RequestHead): number {
  const length = text.length;
  let count = 0;
  while (pos < length) {
    let end = text.indexOf('\r\n', pos);
    if (end === -1) end = length;
    if (++count > MAX_HEADERS) return fail(out, 431, 'too many header fields');
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon >= end) return fail(out, 400, 'bad header line');
    const name = text.slice(pos, colon);
    if (!TOKEN.test(name)) return fail(out, 400, 'bad header name');
    let vs = colon + 1;
    let ve = end;
    let c = text.charCodeAt(vs);
    while (vs < ve && (c === 32 || c === 9)) c = text.charCodeAt(++vs);
    c = text.charCodeAt(ve - 1);
    while (ve > vs && (c === 32 || c === 9)) c = text.charCodeAt(--ve - 1);
    const value = text.slice(vs, ve);
    if (hasControlCharacter(value)) return fail(out, 400, 'bad header value');
    pos = end + 2;
    const status = noteField(name, value, out);
    if (status !== 0) return status;
  }
  return 0;
}

function noteConnection(value: string): void {
  const lower = value.toLowerCase();
  if (lower === 'keep-alive') seen.connectionKeepAlive = true;
  else if (lower === 'close') seen.connectionClose = true;
  else {
    for (const raw of lower.split(',')) {
      const token = raw.trim();
      if (token === 'close') seen.connectionClose = true;
      else if (token === 'keep-alive') seen.connectionKeepAlive = true;
    }
  }
}

/** One header field: only a few matter; switching on the length first keeps toLowerCase off the others. */
function noteField(name: string, value: string, out: RequestHead): number {
  switch (name.length) {
    case 4:
      if (name.toLowerCase() === 'host') {
        seen.hosts++;
        out.host = value;
      }
      break;
    case 5:
      if (name.toLowerCase() === 'range') out.range = value;
      break;
    case 6:
      if (name.toLowerCase() === 'expect') out.expect = value;
      break;
    case 8:
      if (name.toLowerCase() === 'if-range') out.ifRange = value;
      break;
    case 10:
      if (name.toLowerCase() === 'connection') noteConnection(value);
      break;
    case 13:
      if (name.toLowerCase() === 'if-none-match') out.ifNoneMatch = value;
      break;
    case 14:
      if (name.toLowerCase() === 'content-length') {
        if (!DIGITS.test(value)) return fail(out, 400, 'bad Content-Length');
        const n = value.length > 15 ? Number.POSITIVE_INFINITY : Number(value);
        if (seen.contentLength !== -1 && seen.contentLength !== n)
          return fail(out, 400, 'conflicting Content-Length');
        seen.contentLength = n;
      }
      break;
    case 17: {
      const lower = name.toLowerCase();
      if (lower === 'transfer-encoding') {
        out.transferEncoding =
          out.transferEncoding === undefined ? value : `${out.transferEncoding}, ${value}`;
      } else if (lower === 'if-modified-since') out.ifModifiedSince = value;
      break;
    }
  }
  return 0;
}

/** Step 3: what the fields say together (Host, framing, body size, keep-alive). */
function checkHead(out: RequestHead): number {
  if (seen.hosts > 1) return fail(out, 400, 'more than one Host');
  if (seen.hosts === 0 && out.minor === 1) return fail(out, 400, 'HTTP/1.1 request without Host');
  // Both framings at once is the classic request-smuggling shape: refuse it outright.
  if (out.transferEncoding !== undefined && seen.contentLength !== -1) {
    return fail(out, 400, 'both Transfer-Encoding and Content-Length');
  }
  if (seen.contentLength > MAX_BODY_BYTES) return fail(out, 413, 'request body too large');
  out.contentLength = seen.contentLength === -1 ? 0 : seen.contentLength;
  out.keepAlive = out.minor === 1 ? !seen.connectionClose : seen.connectionKeepAlive && !seen.connectionClose;
  return 0;
}

/**
 * Parses `text` (a request head without its final CRLF CRLF) into `out`. Returns 0 on success,
 * otherwise the status to answer with before closing the connection (400, 413, 431, 505).
 */
export function parseRequestHead(text: string, out: RequestHead): number {
  resetHead(out);
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = text.length;
  return parseRequestLine(text, lineEnd, out) || parseFields(text, lineEnd + 2, out) || checkHead(out);
}

const CR = 13;
const LF = 10;

/**
 * For a head whose end has not arrived yet: true when it already contains a line feed that is not
 * part of CRLF. This parser only accepts CRLF, and such a head would otherwise wait for a blank
 * line that never comes.
 */
export function hasBareLineFeed(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  for (;;) {
    i = buf.indexOf(LF, i);
    if (i === -1 || i >= end) return false;
    if (i === start || buf[i - 1] !== CR) return true;
    i++;
  }
}

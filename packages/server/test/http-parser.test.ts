import { describe, expect, it } from 'vitest';
import { hasBareLineFeed, MAX_HEADERS, newRequestHead, parseRequestHead } from '../src/http-parser.ts';

function parse(text: string) {
  const head = newRequestHead();
  const status = parseRequestHead(text, head);
  return { status, head };
}

describe('parseRequestHead', () => {
  it('parses a minimal HTTP/1.1 GET', () => {
    const { status, head } = parse('GET /index.html?x=1 HTTP/1.1\r\nHost: example');
    expect(status).toBe(0);
    expect(head.method).toBe('GET');
    expect(head.target).toBe('/index.html?x=1');
    expect(head.minor).toBe(1);
    expect(head.keepAlive).toBe(true);
    expect(head.host).toBe('example');
    expect(head.contentLength).toBe(0);
  });

  it('applies HTTP/1.0 and HTTP/1.1 keep-alive rules', () => {
    expect(parse('GET / HTTP/1.0').head.keepAlive).toBe(false);
    expect(parse('GET / HTTP/1.0\r\nConnection: keep-alive').head.keepAlive).toBe(true);
    expect(parse('GET / HTTP/1.0\r\nConnection: Keep-Alive').head.keepAlive).toBe(true);
    expect(parse('GET / HTTP/1.1\r\nHost: a\r\nConnection: close').head.keepAlive).toBe(false);
    expect(parse('GET / HTTP/1.1\r\nHost: a\r\nconnection: Upgrade, CLOSE').head.keepAlive).toBe(false);
    expect(parse('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close').head.keepAlive).toBe(false);
  });

  it('reads the header fields the server uses, case-insensitively, trimming whitespace', () => {
    const { status, head } = parse(
      'HEAD / HTTP/1.1\r\nhOsT:  a  \r\nIF-NONE-MATCH: "x"\r\nIf-Modified-Since:\tSun, 06 Nov 1994 08:49:37 GMT\r\n' +
        'Range: bytes=0-1\r\nIf-Range: "x"\r\nContent-Length: 12\r\nExpect: 100-continue\r\nX-Other: whatever',
    );
    expect(status).toBe(0);
    expect(head.method).toBe('HEAD');
    expect(head.host).toBe('a');
    expect(head.ifNoneMatch).toBe('"x"');
    expect(head.ifModifiedSince).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(head.range).toBe('bytes=0-1');
    expect(head.ifRange).toBe('"x"');
    expect(head.contentLength).toBe(12);
    expect(head.expect).toBe('100-continue');
  });

  it('resets fields between requests parsed into the same object', () => {
    const head = newRequestHead();
    expect(parseRequestHead('GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=1-2\r\nContent-Length: 5', head)).toBe(
      0,
    );
    expect(parseRequestHead('GET /b HTTP/1.1\r\nHost: a', head)).toBe(0);
    expect(head.range).toBeUndefined();
    expect(head.contentLength).toBe(0);
    expect(head.target).toBe('/b');
  });

  it('accepts other methods (answered 405 later) and absolute-form targets', () => {
    expect(parse('DELETE /x HTTP/1.1\r\nHost: a').status).toBe(0);
    expect(parse('GET http://a/x HTTP/1.1\r\nHost: a').head.target).toBe('http://a/x');
  });

  it.each([
    ['empty', ''],
    ['garbage', 'GARBAGE'],
    ['no target', 'GET HTTP/1.1'],
    ['double space', 'GET  / HTTP/1.1\r\nHost: a'],
    ['trailing space', 'GET / HTTP/1.1 \r\nHost: a'],
    ['lowercase version', 'GET / http/1.1\r\nHost: a'],
    ['bad version', 'GET / HTTP/1.x\r\nHost: a'],
    ['HTTP/0.9 style', 'GET /'],
    ['method with slash', 'GE/T / HTTP/1.1\r\nHost: a'],
    ['control char in target', 'GET /a\x01b HTTP/1.1\r\nHost: a'],
    ['non-ASCII target', 'GET /caf\xe9 HTTP/1.1\r\nHost: a'],
    ['fragment in target', 'GET /a#b HTTP/1.1\r\nHost: a'],
    ['bare LF in request line', 'GET / HTTP/1.1\nHost: a'],
    ['header without colon', 'GET / HTTP/1.1\r\nHost: a\r\nNoColon'],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : a'],
    ['empty header name', 'GET / HTTP/1.1\r\nHost: a\r\n: x'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c'],
    ['bare CR in value', 'GET / HTTP/1.1\r\nHost: a\rb'],
    ['bare LF in value', 'GET / HTTP/1.1\r\nHost: a\nX: b'],
    ['NUL in value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\0b'],
    ['1.1 without Host', 'GET / HTTP/1.1\r\nAccept: */*'],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b'],
    ['negative Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1'],
    ['non-numeric Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x'],
    ['list Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5'],
    ['conflicting Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6'],
    [
      'Transfer-Encoding with Content-Length',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5',
    ],
  ])('answers 400 to %s', (_name, text) => {
    const { status, head } = parse(text);
    expect(status).toBe(400);
    expect(head.error).not.toBe('');
  });

  it('answers 505 to other HTTP versions', () => {
    expect(parse('GET / HTTP/2.0\r\nHost: a').status).toBe(505);
    expect(parse('GET / HTTP/1.2\r\nHost: a').status).toBe(505);
  });

  it('answers 431 to too many header fields and 413 to a huge body', () => {
    const many = Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `X-${i}: v`).join('\r\n');
    expect(parse(`GET / HTTP/1.1\r\nHost: a\r\n${many}`).status).toBe(431);
    expect(parse('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999').status).toBe(413);
  });

  it('accepts identical duplicate Content-Length and records Transfer-Encoding', () => {
    expect(
      parse('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3').head.contentLength,
    ).toBe(3);
    expect(parse('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked').head.transferEncoding).toBe(
      'chunked',
    );
  });
});

describe('hasBareLineFeed', () => {
  const bytes = (s: string) => Buffer.from(s, 'latin1');
  it('finds LF without CR and ignores CRLF', () => {
    expect(hasBareLineFeed(bytes('GET / HTTP/1.1\r\nHost: a\r\n'), 0, 26)).toBe(false);
    expect(hasBareLineFeed(bytes('GET / HTTP/1.1\nHost'), 0, 19)).toBe(true);
    expect(hasBareLineFeed(bytes('\nGET'), 0, 4)).toBe(true);
  });
  it('looks only inside [start, end)', () => {
    const buf = bytes('ab\r\ncd\nef');
    expect(hasBareLineFeed(buf, 0, 6)).toBe(false);
    expect(hasBareLineFeed(buf, 0, 9)).toBe(true);
  });
});

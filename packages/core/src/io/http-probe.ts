import { request } from 'node:http';
import { connect } from 'node:net';

export interface ProbeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One GET without keep-alive; rejects on connection errors or after `timeoutMs`. */
export function httpGet(
  url: string,
  timeoutMs = 2000,
  headers: Record<string, string> = {},
): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Size on the wire of the whole response (status line, headers, body) to the plain keep-alive
 * GET load tools send (`GET path HTTP/1.1` with only a Host header), or null when the response
 * has no Content-Length. Tools such as wrk count only total bytes; with this size they can still
 * be checked exactly.
 */
export function rawResponseBytes(url: string, timeoutMs = 5000): Promise<number | null> {
  const { hostname, port, pathname, search } = new URL(url);
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port || 80) });
    const chunks: Buffer[] = [];
    let received = 0;
    let expectedTotal: number | null | undefined;
    const finish = (error: Error | null, value: number | null = null) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    const timer = setTimeout(
      () => finish(new Error(`no complete response from ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () =>
      socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`),
    );
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (expectedTotal === undefined) {
        const head = Buffer.concat(chunks);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head.subarray(0, end).toString('latin1'));
        if (length === null) {
          finish(null, null);
          return;
        }
        expectedTotal = end + 4 + Number(length[1]);
      }
      if (expectedTotal !== null && received >= expectedTotal) finish(null, expectedTotal);
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`connection closed before the whole response from ${url}`)));
  });
}

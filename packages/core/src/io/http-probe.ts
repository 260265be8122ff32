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

export interface ResponseFormsProbe {
  /** Distinct whole-response sizes seen, and whether the server closed after that form. */
  forms: { bytes: number; closes: boolean }[];
  /** The server closed the connection after this many responses; null when it never did. */
  closeAfterRequests: number | null;
  /** Responses read in all. */
  responses: number;
}

/**
 * Learns every legitimate whole-response form a load tool will see: GETs one after another on
 * one keep-alive connection (as wrk sends them) until the server closes it, `maxRequests` have
 * been answered or the time budget is spent. nginx's stock keepalive_requests (100) makes the last response carry
 * `Connection: close` and be a few bytes shorter; a size check that knew only the first form
 * would call every such run invalid. Responses without a Content-Length end the probe.
 */
export function probeResponseForms(
  url: string,
  options: { maxRequests?: number; timeoutMs?: number; budgetMs?: number } = {},
): Promise<ResponseFormsProbe> {
  const maxRequests = options.maxRequests ?? 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  // A slow server (Nagle against delayed ACKs costs some 40 ms a response) still gets probed:
  // after the budget what was seen is the answer, and only silence is an error.
  const budgetMs = options.budgetMs ?? 4000;
  const started = Date.now();
  const { hostname, port, pathname, search } = new URL(url);
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const request = `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port || 80) });
    const forms = new Map<string, { bytes: number; closes: boolean }>();
    let buffered = Buffer.alloc(0);
    let responses = 0;
    let closeAfter: number | null = null;
    let done = false;
    const finish = (error: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve({ forms: [...forms.values()], closeAfterRequests: closeAfter, responses });
    };
    const timer = setTimeout(
      () => finish(new Error(`no complete answer from ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (length === null) {
          finish(null);
          return;
        }
        const total = end + 4 + Number(length[1]);
        if (buffered.length < total) return;
        buffered = buffered.subarray(total);
        responses += 1;
        const closes = /\r\nconnection:\s*close/i.test(head);
        forms.set(`${total}|${closes}`, { bytes: total, closes });
        if (closes) {
          closeAfter = responses;
          finish(null);
          return;
        }
        if (responses >= maxRequests || Date.now() - started > budgetMs) {
          finish(null);
          return;
        }
        socket.write(request);
      }
    });
    socket.on('error', (error) => finish(responses > 0 ? null : error));
    socket.on('close', () => {
      // A close without Connection: close still ends the connection's life after this many.
      if (responses > 0 && closeAfter === null) closeAfter = responses;
      finish(responses > 0 ? null : new Error(`connection closed before a complete response from ${url}`));
    });
  });
}

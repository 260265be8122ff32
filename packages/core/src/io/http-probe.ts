import { request } from 'node:http';

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

import { createServer, type Server } from 'node:http';
import { allocatePort } from '@scaleup/core/io';

export type ServerMode = 'ok' | 'notfound' | 'silent';

/** A tiny in-process HTTP server with a fixed body, for tests that need a real peer. */
export async function startServer(
  bodyBytes: number,
  mode: ServerMode = 'ok',
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const body = Buffer.alloc(bodyBytes, 42);
  const server = createServer((_req, res) => {
    if (mode === 'silent') return;
    res.writeHead(mode === 'notfound' ? 404 : 200, {
      'content-length': body.length,
      'content-type': 'text/plain',
    });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  const port = await allocatePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

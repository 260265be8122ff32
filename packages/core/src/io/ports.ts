import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago on `host`. The kernel picks it, so parallel tests do
 * not collide; a small race remains between close and the caller's bind, as with any allocator.
 */
export function allocatePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the allocated port'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing accepts on host:port. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

import { createServer } from 'node:net';

/** A port of 127.0.0.1 free a moment ago (whoever binds it next may lose a race and try again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

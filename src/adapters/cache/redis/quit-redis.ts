import type { Redis } from 'ioredis';

/** Ends a connection politely when it is up (QUIT waits for replies in flight), else drops its socket. */
export async function quitRedis(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    try {
      await connection.quit();
      return;
    } catch {
      // fall through: drop the socket
    }
  }
  connection.disconnect();
}

import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fake's HTTP server on 127.0.0.1 with a free port. Open sockets are tracked so `close()` ends
 * keep-alive and hung connections at once instead of waiting for clients.
 */
export class LoopbackServer {
  private readonly sockets = new Set<Socket>();

  constructor(readonly server: Server) {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

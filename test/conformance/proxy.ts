import net from 'node:net';

/**
 * A throwaway TCP proxy to a real server. Tests stop and restart it to simulate the server going
 * away and coming back, without touching the shared server other tests use at the same time.
 */
export class TcpProxy {
  /** Connections accepted so far. */
  accepted = 0;
  /** Accepted connections to cut immediately (before any byte reaches the server), to test retries. */
  dropNext = 0;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly targetPort: number, private readonly targetHost: string, public port: number) {}

  /** Starts a proxy on 127.0.0.1 (`port` 0 = any free port) forwarding to `targetHost:targetPort`. */
  static async start(targetPort: number, targetHost = '127.0.0.1', port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, targetHost, port);
    await proxy.listen();
    return proxy;
  }

  /** Listens again on the same port after {@link stop}. */
  async listen(): Promise<void> {
    const server = net.createServer((client) => {
      this.accepted++;
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      if (this.dropNext > 0) {
        this.dropNext--;
        client.destroy();
        return;
      }
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.sockets.add(upstream);
      upstream.on('close', () => { this.sockets.delete(upstream); client.destroy(); });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Cuts every open connection but keeps listening (a network blip). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Stops listening and cuts every open connection (the server "goes away"). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }
}

/** A local port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

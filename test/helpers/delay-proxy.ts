import * as net from 'net';

/** A TCP proxy on 127.0.0.1 that delays every byte by a fixed time in each direction. */
export interface DelayProxy {
  /** The port the proxy listens on. */
  readonly port: number;
  /** The one-way delay now, in milliseconds (a round trip takes twice as long). */
  readonly delayMs: number;
  /** Bytes forwarded so far, both directions. */
  readonly bytes: number;
  /** Changes the one-way delay of bytes received from now on; bytes never overtake earlier ones. */
  setDelay(ms: number): void;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/**
 * Starts a proxy to `127.0.0.1:targetPort` that holds each chunk for `oneWayDelayMs` before
 * passing it on, in both directions: what a client sees across a network with a round-trip time
 * of twice the delay. Order is kept, bandwidth is not limited.
 */
export async function startDelayProxy(targetPort: number, oneWayDelayMs: number): Promise<DelayProxy> {
  let delay = oneWayDelayMs;
  let bytes = 0;
  const sockets = new Set<net.Socket>();

  /**
   * Forwards `from` to `to`, each chunk released `delay` ms after it arrived. One queue and one timer
   * per direction: chunks leave in the order they came, whatever the delay was when each arrived.
   */
  const pipe = (from: net.Socket, to: net.Socket) => {
    const queue: Array<{ chunk: Buffer; at: number }> = [];
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const pump = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0].at <= Date.now()) {
        const { chunk } = queue.shift()!;
        bytes += chunk.length;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, queue[0].at - Date.now());
      else if (ended) to.end();
    };
    from.on('data', (chunk: Buffer) => {
      const last = queue.length > 0 ? queue[queue.length - 1].at : 0;
      queue.push({ chunk, at: Math.max(last, Date.now() + delay) });
      if (!timer) timer = setTimeout(pump, Math.max(0, queue[0].at - Date.now()));
    });
    from.on('end', () => {
      ended = true;
      if (queue.length === 0) to.end();
    });
  };

  // the writable side of each socket stays open after the other side's FIN, until the delayed bytes are out
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
    upstream.setNoDelay(true);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    const fail = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', fail);
    upstream.on('error', fail);
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    get delayMs() { return delay; },
    get bytes() { return bytes; },
    setDelay(ms: number) { delay = ms; },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

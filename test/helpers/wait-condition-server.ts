import * as https from 'https';
import { AddressInfo } from 'net';
import { selfSignedCertificate } from './tls';

/** A signal a wait condition handle received. */
export interface ReceivedSignal {
  readonly Status: string;
  readonly Reason: string;
  readonly UniqueId: string;
  readonly Data: string;
  /** The Content-Type header it came with: CloudFormation wants none (or empty). */
  readonly contentType?: string;
  readonly method: string;
}

/** How the server answers a request it was told to fail: an HTTP status, or a connection reset without an answer. */
export type ScriptedAnswer = number | 'reset';

/**
 * A local HTTPS server standing in for the presigned Amazon S3 URLs of wait condition handles: it
 * records what is PUT to each handle. Its self-signed certificate is trusted by this process only
 * (`https.globalAgent`), so the handlers' own HTTPS code runs unchanged.
 */
export class WaitConditionServer {
  public readonly signals = new Map<string, ReceivedSignal[]>();
  /** Every request to each handle, in order: how it was answered and the client port it came from. */
  public readonly requests = new Map<string, { answer: ScriptedAnswer; clientPort: number }[]>();
  /** Answers the next requests to a handle get instead of 200 (the signal then is not recorded). */
  private readonly scripted = new Map<string, ScriptedAnswer[]>();
  private server?: https.Server;
  private port = 0;

  public async start(): Promise<void> {
    const tls = selfSignedCertificate();
    https.globalAgent.options.ca = tls.cert;
    this.server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const handle = new URL(req.url!, 'https://localhost').pathname.slice(1);
        const answer = this.scripted.get(handle)?.shift() ?? 200;
        this.requests.set(handle, [...(this.requests.get(handle) ?? []), { answer, clientPort: req.socket.remotePort! }]);
        if (answer === 'reset') {
          req.socket.destroy();
          return;
        }
        if (answer !== 200) {
          res.writeHead(answer);
          res.end();
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        this.signals.set(handle, [...(this.signals.get(handle) ?? []), { ...body, contentType: req.headers['content-type'], method: req.method! }]);
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The next requests to `handle` are answered so, one each, before it takes signals again. */
  public failNext(handle: string, ...answers: ScriptedAnswer[]): void {
    this.scripted.set(handle, [...(this.scripted.get(handle) ?? []), ...answers]);
  }

  /** Forgets the signals, requests and scripted answers (between tests). */
  public clear(): void {
    this.signals.clear();
    this.requests.clear();
    this.scripted.clear();
  }

  /** The presigned URL of a handle. */
  public url(logicalId: string): string {
    return `https://127.0.0.1:${this.port}/${logicalId}?X-Amz-Signature=test`;
  }

  public async stop(): Promise<void> {
    delete https.globalAgent.options.ca;
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

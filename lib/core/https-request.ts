import * as https from 'https';

/** The answer to an HTTPS request. */
export interface HttpsResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** An HTTPS request of the handlers. */
export interface HttpsRequestOptions {
  readonly method: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Milliseconds before the request is abandoned. */
  readonly timeoutMs: number;
  /** Whether to open a connection of its own rather than reuse a kept-alive one. @default false */
  readonly newConnection?: boolean;
}

/**
 * One HTTPS request with Node's `https` module: plain HTTP is impossible, the server certificate is
 * verified against Node's CA store. Rejects on network errors and timeouts; any HTTP status resolves.
 *
 * Imports nothing from aws-cdk-lib: the handler bundles use it.
 */
export function httpsRequest(url: string, options: HttpsRequestOptions): Promise<HttpsResponse> {
  if (!url.startsWith('https://')) {
    return Promise.reject(new Error(`refusing a request to a URL that is not https (${new URL(url).protocol})`));
  }
  const headers: Record<string, string | number> = { ...options.headers };
  if (options.body !== undefined) {
    headers['content-length'] = Buffer.byteLength(options.body);
  }
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: options.method, headers, ...(options.newConnection ? { agent: freshAgent() } : {}) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.setTimeout(options.timeoutMs, () => request.destroy(Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { name: 'TimeoutError' })));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** An agent of its own for one request: the global agent's options (its trusted CAs), no connection kept. */
function freshAgent(): https.Agent {
  return new https.Agent({ ...https.globalAgent.options, keepAlive: false });
}

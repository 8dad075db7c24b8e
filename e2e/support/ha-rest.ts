// Home Assistant's REST API as the tests use it: JSON in and out, a clear error with HA's answer
// for any unexpected status, and raw bytes for images.

import { withTimeout } from './wait.js';

// Loopback requests answer in milliseconds; this only catches a hung server.
const REQUEST_TIMEOUT_MS = 30_000;

export class HaHttpError extends Error {
  override readonly name = 'HaHttpError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${path} answered HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

export class HaRest {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  withToken(token: string): HaRest {
    return new HaRest(this.baseUrl, token);
  }

  async getJson<T>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }

  async postJson<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>('POST', path, JSON.stringify(body), 'application/json');
  }

  async postForm<T>(path: string, fields: Record<string, string>): Promise<T> {
    return this.json<T>('POST', path, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded');
  }

  /** The raw answer, whatever its status (for probes and for image bytes). */
  async request(method: string, path: string, init: { body?: string; contentType?: string; authenticated?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (init.contentType !== undefined) headers['Content-Type'] = init.contentType;
    if ((init.authenticated ?? true) && this.token !== undefined) headers.Authorization = `Bearer ${this.token}`;
    return withTimeout(
      `${method} ${path}`,
      fetch(`${this.baseUrl}${path}`, { method, headers, body: init.body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
      REQUEST_TIMEOUT_MS,
    );
  }

  /** GET without the bearer token: what a browser `<img>` does with an `entity_picture` URL. */
  async getBytes(path: string): Promise<{ status: number; contentType: string | null; bytes: Buffer }> {
    const response = await this.request('GET', path, { authenticated: false });
    return { status: response.status, contentType: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
  }

  private async json<T>(method: string, path: string, body?: string, contentType?: string): Promise<T> {
    const response = await this.request(method, path, { body, contentType });
    const text = await response.text();
    if (!response.ok) throw new HaHttpError(method, path, response.status, text);
    return (text === '' ? null : JSON.parse(text)) as T;
  }
}

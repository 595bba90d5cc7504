// An HTTP/2 prior-knowledge (h2c) client the suite brings itself: Deno's
// `node:http2`. Deno's fetch cannot speak h2c, and spawning curl or nghttp
// would make the suite depend on system binaries a fresh machine lacks.

import http2 from "node:http2";

/** One HTTP/2 answer: status, headers and the whole body. */
export interface H2Answer {
  version: "HTTP/2";
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** What to send on one stream. */
export interface H2Request {
  method?: string;
  /** Path and query, e.g. `/users/1?q=2`. */
  path: string;
  /** Repeated names (e.g. two `cookie` fields) go as an array. */
  headers?: Record<string, string | string[]>;
  body?: Uint8Array | string;
}

/** An h2c connection; every `request()` is a stream of this one connection. */
export class H2Session implements AsyncDisposable {
  #session: http2.ClientHttp2Session;
  #failed: Promise<never>;

  constructor(base: string) {
    this.#session = http2.connect(base);
    this.#failed = new Promise((_, reject) => this.#session.once("error", reject));
    this.#failed.catch(() => {});
  }

  /** Sends one request on its own stream and reads the whole answer. */
  request(req: H2Request): Promise<H2Answer> {
    const stream = this.#session.request({
      ":method": req.method ?? "GET",
      ":path": req.path,
      ...req.headers,
    });
    const answer = new Promise<H2Answer>((resolve, reject) => {
      const chunks: Uint8Array[] = [];
      let status = 0;
      const headers = new Headers();
      stream.on("response", (fields) => {
        for (const [name, value] of Object.entries(fields)) {
          if (name === ":status") status = Number(value);
          else if (!name.startsWith(":") && value !== undefined) {
            for (const v of Array.isArray(value) ? value : [value]) {
              headers.append(name, String(v));
            }
          }
        }
      });
      stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      stream.on("end", () => done());
      stream.on("error", reject);
      // Deno's node:http2 may skip "end" when the server's GOAWAY closes
      // the connection right after the last frame; "close" always comes.
      const done = () => resolve({ version: "HTTP/2", status, headers, body: concat(chunks) });
      stream.on("close", () => {
        if (status) done();
        else reject(new Error(`h2 stream closed without a response (code ${stream.rstCode})`));
      });
    });
    stream.end(req.body);
    return Promise.race([answer, this.#failed]);
  }

  /** Closes the connection once its streams are done. */
  close(): Promise<void> {
    const session = this.#session;
    if (session.closed || session.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      session.once("close", () => resolve());
      session.close();
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** One request on a fresh connection, closed afterwards. */
export async function h2(base: string, req: H2Request): Promise<H2Answer> {
  await using session = new H2Session(base);
  return await session.request(req);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

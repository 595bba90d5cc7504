/**
 * An HTTP outcome thrown from a handler or middleware: Ferry answers with
 * `status` and an RFC 9457 `application/problem+json` body whose `detail`
 * is `message`.
 *
 * @example Refuse a request
 * ```ts
 * import { App, HttpError } from "@ferry/ferry";
 * const app = new App();
 * app.get("/admin", () => {
 *   throw new HttpError(403, "admins only");
 * });
 * const res = await app.fetch(new Request("http://localhost/admin"));
 * console.assert(res.status === 403);
 * ```
 *
 * @example Extension members (RFC 9457 §3.2) travel in the problem body
 * ```ts
 * import { App, HttpError } from "@ferry/ferry";
 * const app = new App().post("/orders", () => {
 *   throw new HttpError(422, "invalid order", {
 *     errors: [{ pointer: "/qty", message: "must be positive" }],
 *     type: "https://example.com/problems/invalid-order",
 *   });
 * });
 * const res = await app.fetch(new Request("http://localhost/orders", { method: "POST" }));
 * console.assert((await res.json()).errors[0].pointer === "/qty");
 * ```
 */
export class HttpError extends Error {
  /** The HTTP status to answer with (400–599). */
  readonly status: number;
  /** Extra response headers, for example `Retry-After` or `WWW-Authenticate`. */
  readonly headers: Record<string, string>;
  /**
   * RFC 9457 members added to the problem body besides `status` and
   * `detail` (which come from the error): `type`, `title`, `instance`,
   * or extensions such as `errors`.
   */
  readonly extensions: Record<string, unknown>;

  /**
   * An error that answers with `status`.
   *
   * @param status HTTP status, 400–599.
   * @param message Human-readable detail, sent to the client.
   * @param options `headers` to add to the response, `cause` for logging;
   *   every other member is written into the problem body.
   */
  constructor(
    status: number,
    message?: string,
    options?: { headers?: Record<string, string>; cause?: unknown; [member: string]: unknown },
  ) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(
        `HttpError status must be an integer from 400 to 599, got ${status}`,
      );
    }
    super(message ?? STATUS_TEXT[status] ?? "Error", { cause: options?.cause });
    this.name = "HttpError";
    this.status = status;
    const { headers, cause: _cause, ...extensions } = options ?? {};
    this.headers = (headers as Record<string, string> | undefined) ?? {};
    this.extensions = extensions;
  }
}

/** Reason phrases for the statuses Ferry produces itself. */
export const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

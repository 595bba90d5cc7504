// Turns whatever a handler returned or threw into a Reply.

import type { Context } from "./context.ts";
import { HttpError } from "./http_error.ts";
import { problem, Reply } from "./reply.ts";

import { BYTES, JSON_TYPE, TEXT } from "./_media.ts";

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return `a ${typeof value}`;
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  return name ? `a ${name}` : "an object";
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Lives with Reply, whose sealed() needs it; imported from here as before.
export { problem };

/**
 * A handler returned a value Ferry cannot send. Its message names only the
 * value's type, so unlike other errors it is safe to show the client.
 */
class UnsendableValue extends TypeError {
  override name = "UnsendableValue";
}

/** The reply for a thrown value: an HttpError's status, else a logged 500. */
export function errorReply(error: unknown): Reply {
  if (error instanceof HttpError) {
    const reply = problem(error.status, error.message);
    for (const [name, value] of Object.entries(error.headers)) reply.set(name, value);
    return reply;
  }
  if (error instanceof UnsendableValue) {
    console.error(`ferry: ${error.message}`);
    return problem(500, error.message);
  }
  console.error("ferry: a handler or middleware threw; answering 500:", error);
  return problem(500, "The server could not complete the request.");
}

/**
 * Converts a handler's return value into a Reply, applying the context's
 * status and headers. Every value converts synchronously (a Web
 * `Response`'s body is streamed, not read here).
 */
export function toReply(value: unknown, c: Context): Reply | Promise<Reply> {
  let reply: Reply;
  if (value instanceof Reply) {
    reply = value;
  } else if (typeof value === "string") {
    reply = new Reply(value, c.currentStatus, TEXT);
  } else if (value === undefined || value === null) {
    reply = new Reply(null, c.currentStatus === 200 ? 204 : c.currentStatus);
  } else if (value instanceof Response) {
    reply = Reply.fromResponse(value);
  } else if (value instanceof Uint8Array) {
    reply = new Reply(value, c.currentStatus, BYTES);
  } else if (value instanceof ArrayBuffer) {
    reply = new Reply(new Uint8Array(value), c.currentStatus, BYTES);
  } else if (
    typeof value === "object" &&
    (Array.isArray(value) || isPlainObject(value) ||
      typeof (value as { toJSON?: unknown }).toJSON === "function")
  ) {
    reply = new Reply(JSON.stringify(value), c.currentStatus, JSON_TYPE);
  } else {
    throw new UnsendableValue(
      `A handler returned ${
        describe(value)
      }, which Ferry cannot send. Return a string, a plain object or array (JSON), a Uint8Array or ArrayBuffer, a Response, c.json()/c.text(), or nothing (204).`,
    );
  }
  return c.applyHeaders(reply);
}

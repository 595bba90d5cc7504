/**
 * The load scenarios, defined once: the request `wrk` sends, the load shape
 * (connections, pipelining) and the exact response every peer must give
 * (status, body bytes, content type, extra headers) before it is measured.
 *
 * @module
 */

/** The response a peer must answer with, checked byte for byte. */
export interface Expectation {
  /** HTTP status. */
  status: number;
  /** Exact `content-type` header value. */
  contentType: string;
  /** Exact body; `null` means "the bytes of the static fixture file". */
  body: string | null;
  /** Extra response headers that must be present with these exact values. */
  headers?: Record<string, string>;
  /**
   * For a 422 problem+json: the `[location, pointer, keyword]` of every
   * error, sorted. Checked instead of the body's bytes, since each
   * validator words its messages its own way.
   */
  problemErrors?: [string, string, string][];
}

/** One load scenario. */
export interface Scenario {
  /** Short id used on the command line (`--only`) and in reports. */
  name: string;
  /** One-line description for the report. */
  title: string;
  /** Request method. */
  method: "GET" | "POST";
  /** Request path with query. */
  path: string;
  /** Request headers (besides `Host`). */
  headers?: Record<string, string>;
  /** Request body, sent with `content-type: application/json`. */
  body?: string;
  /** Concurrent connections (`wrk -c`). */
  connections: number;
  /** Pipelining depth; 1 means no pipelining. */
  pipeline: number;
  /** The response every peer must give. */
  expect: Expectation;
}

/** Name of the static fixture file served under `/static/`. */
export const STATIC_FILE = "file64k.bin";
/** Size of the static fixture file in bytes. */
export const STATIC_SIZE = 64 * 1024;

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";
const HELLO: Expectation = {
  status: 200,
  contentType: TEXT,
  body: "Hello, World!",
};
const MW: Expectation = {
  status: 200,
  contentType: JSON_TYPE,
  body: '{"ok":true}',
  headers: { "x-mw": "16" },
};
const USER: Expectation = {
  status: 200,
  contentType: JSON_TYPE,
  body: '{"id":"42","name":"x","token":"abc"}',
  headers: { "x-custom": "1" },
};
const ECHO = '{"hello":"world","n":[1,2,3],"ok":true}';

/**
 * The validation scenarios' schema, as each peer writes it: `name` a
 * non-empty string, `age` an integer >= 0, `email` an email address.
 */
export const VALID_USER = '{"name":"Ada","age":36,"email":"ada@example.com"}';
/** Fails all three fields of the validation scenarios' schema. */
export const INVALID_USER = '{"name":"","age":"x","email":"nope"}';

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "plaintext",
    title: "GET / plaintext, 64 connections",
    method: "GET",
    path: "/",
    connections: 64,
    pipeline: 1,
    expect: HELLO,
  },
  {
    name: "user",
    title: "GET /user/:id?name=x with a request header; JSON + x-custom",
    method: "GET",
    path: "/user/42?name=x",
    headers: { "x-token": "abc" },
    connections: 64,
    pipeline: 1,
    expect: USER,
  },
  {
    name: "mounted",
    title: "the user route inside two nested sub-apps, behind 2 path-scoped sync middleware",
    method: "GET",
    path: "/api/v1/user/42?name=x",
    headers: { "x-token": "abc" },
    connections: 64,
    pipeline: 1,
    expect: { ...USER, headers: { ...USER.headers, "x-scope": "2" } },
  },
  {
    name: "json",
    title: "POST /json echo (parse + serialize)",
    method: "POST",
    path: "/json",
    body: ECHO,
    connections: 64,
    pipeline: 1,
    expect: { status: 200, contentType: JSON_TYPE, body: ECHO },
  },
  {
    name: "mw-sync",
    title: "GET /mw behind 16 sync middleware",
    method: "GET",
    path: "/mw",
    connections: 64,
    pipeline: 1,
    expect: MW,
  },
  {
    name: "mw-async",
    title: "GET /mw-async behind 16 async middleware",
    method: "GET",
    path: "/mw-async",
    connections: 64,
    pipeline: 1,
    expect: MW,
  },
  {
    name: "const",
    title: "GET /const, a constant JSON route",
    method: "GET",
    path: "/const",
    connections: 64,
    pipeline: 1,
    expect: { status: 200, contentType: JSON_TYPE, body: '{"status":"ok"}' },
  },
  {
    name: "static",
    title: `GET /static/${STATIC_FILE} (64 KiB from disk)`,
    method: "GET",
    path: `/static/${STATIC_FILE}`,
    connections: 64,
    pipeline: 1,
    expect: {
      status: 200,
      contentType: "application/octet-stream",
      body: null,
    },
  },
  {
    name: "latency-c1",
    title: "GET / plaintext, one connection (latency)",
    method: "GET",
    path: "/",
    connections: 1,
    pipeline: 1,
    expect: HELLO,
  },
  {
    name: "pipeline-16",
    title: "GET / plaintext, pipelined depth 16, 64 connections",
    method: "GET",
    path: "/",
    connections: 64,
    pipeline: 16,
    expect: HELLO,
  },
  {
    // Where the kernel's per-request socket work is shared by 16 requests,
    // what is left is each server's own work: the const route's case.
    name: "const-pipeline-16",
    title: "GET /const (const route), pipelined depth 16, 64 connections",
    method: "GET",
    path: "/const",
    connections: 64,
    pipeline: 16,
    expect: { status: 200, contentType: JSON_TYPE, body: '{"status":"ok"}' },
  },
  {
    name: "valid-body",
    title: "POST /users, a JSON body that passes its schema",
    method: "POST",
    path: "/users",
    body: VALID_USER,
    connections: 64,
    pipeline: 1,
    expect: { status: 200, contentType: JSON_TYPE, body: '{"ok":true,"name":"Ada"}' },
  },
  {
    name: "invalid-body",
    title: "POST /users, a JSON body failing its schema: 422 listing every error",
    method: "POST",
    path: "/users",
    body: INVALID_USER,
    connections: 64,
    pipeline: 1,
    expect: {
      status: 422,
      contentType: "application/problem+json",
      body: "",
      problemErrors: [
        ["body", "/age", "type"],
        ["body", "/email", "format"],
        ["body", "/name", "minLength"],
      ],
    },
  },
  {
    name: "plaintext-c256",
    title: "GET / plaintext, 256 connections",
    method: "GET",
    path: "/",
    connections: 256,
    pipeline: 1,
    expect: HELLO,
  },
];

/**
 * The deterministic bytes of the static fixture (xorshift32, fixed seed), so
 * every run and every machine serves the same file.
 */
export function staticFixture(): Uint8Array {
  const out = new Uint8Array(STATIC_SIZE);
  let x = 0x9e3779b9;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

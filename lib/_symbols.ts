// The native library's symbol table, declared once. Types of the bound
// functions are derived from it. Calls made per batch take and return
// numbers only (u32/i32), which keeps them on V8's fast-call path; see
// docs/crossing.md for the measurements behind that rule and docs/bindgen.md
// for why this table is written by hand.

/** Every function the Rust library exports, as `Deno.dlopen` wants them. */
export const symbols = {
  ferry_abi_version: { parameters: [], result: "u32" },
  ferry_last_error: { parameters: ["buffer", "u32"], result: "i32" },
  ferry_server_start: { parameters: ["buffer", "u32"], result: "i32" },
  ferry_server_port: { parameters: ["u32"], result: "i32" },
  ferry_server_arena: { parameters: ["u32"], result: "pointer" },
  ferry_server_drain_ids: { parameters: ["u32"], result: "pointer" },
  ferry_server_commit_ids: { parameters: ["u32"], result: "pointer" },
  ferry_pump: { parameters: ["u32", "u32", "u32"], result: "i32" },
  ferry_wait: { parameters: ["u32", "u32"], result: "i32", nonblocking: true },
  ferry_commit: { parameters: ["u32", "u32"], result: "i32" },
  ferry_set_body: {
    parameters: ["u32", "u32", "u32", "buffer", "u32"],
    result: "i32",
  },
  ferry_stream_write: {
    parameters: ["u32", "u32", "u32", "buffer", "u32"],
    result: "i32",
  },
  ferry_ws_area: { parameters: ["u32"], result: "pointer" },
  ferry_ws_send: {
    parameters: ["u32", "u32", "u32", "u32", "buffer", "u32"],
    result: "i32",
  },
  ferry_ws_take: { parameters: ["u32", "u32", "buffer", "u32"], result: "i32" },
  ferry_read_overflow: {
    parameters: ["u32", "u32", "u32", "buffer", "u32"],
    result: "i32",
  },
  ferry_server_stats: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  ferry_server_begin: { parameters: ["u32"], result: "i32" },
  ferry_server_shutdown: { parameters: ["u32"], result: "i32" },
  ferry_server_expire: { parameters: ["u32"], result: "i32" },
  ferry_server_close: { parameters: ["u32"], result: "i32" },
  ferry_schema_compile: { parameters: ["buffer", "u32"], result: "i32" },
  ferry_schema_check: { parameters: ["u32", "buffer", "u32"], result: "i32" },
  ferry_routes_compile: { parameters: ["buffer", "u32"], result: "i32" },
  ferry_request_check: {
    parameters: ["u32", "u32", "buffer", "u32", "buffer", "u32"],
    result: "i32",
  },
  // app.fetch's native part (ffi/src/local.rs): not the hot path, so JSON.
  ferry_local_open: { parameters: ["buffer", "u32"], result: "i32" },
  ferry_local_request: {
    parameters: ["u32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  ferry_local_response: { parameters: ["u32", "u32", "buffer", "u32"], result: "i32" },
  ferry_local_take: { parameters: ["u32", "u32", "buffer", "u32"], result: "i32" },
  ferry_local_forget: { parameters: ["u32", "u32"], result: "i32" },
  ferry_local_close: { parameters: ["u32"], result: "i32" },
  ferry_server_detach: { parameters: ["u32", "u32"], result: "i32" },
  ferry_server_orphan: { parameters: ["u32"], result: "i32" },
} as const;

/** The bound functions of the native library. */
export type Native = Deno.DynamicLibrary<typeof symbols>["symbols"];

/** The ABI version this TypeScript expects (see ffi/src/layout.rs). */
export const ABI_VERSION = 15;

/** Error codes returned as negative numbers (see ffi/src/abi.rs). */
export const Code = {
  BadArgument: -1,
  Closed: -2,
  Failed: -3,
  Panicked: -4,
} as const;

import { Code, type Native } from "./_symbols.ts";
import { lastError } from "./_native.ts";
import { CANCELLED, Req } from "./_layout.ts";
import { Context } from "./context.ts";
import { errorReply, problem } from "./_outcome.ts";
import { type HopCounter, type Plan, runPlan } from "./_plan.ts";
import { Reply } from "./reply.ts";
import { ReplyWriter } from "./_encode.ts";
import { SlotSource } from "./_source.ts";

/**
 * Extra microtask turns a busy loop waits for async answers before its next
 * pump: enough for an async handler that awaits the body, or a few async
 * middleware, to make the same commit; a handler awaiting real I/O costs
 * only these turns (tens of nanoseconds each) per batch.
 */
const SETTLE_TURNS = 8;

/**
 * How long `shutdown()`, past its deadline, lets connections send the 503s
 * Rust gave the requests still waiting for a handler before the runtime
 * stops (and cuts whatever is still open).
 */
const EXPIRE_GRACE_MS = 250;

/** Counters `ferry_server_stats` fills. */
const STATS_LEN = 13;

/** A route as the server runs it, indexed by the id Rust sends back. */
export interface RunnableRoute {
  readonly names: readonly string[];
  readonly plan: Plan;
}

/** The address a server listens on. */
export interface ServerAddr {
  /** Always `"tcp"`. */
  transport: "tcp";
  /** The host name or IP it was bound to. */
  hostname: string;
  /** The bound port (the real one when 0 was asked for). */
  port: number;
}

/**
 * Counters of one server, for tests and dashboards. "Crossings" are FFI
 * calls between JavaScript and Rust.
 *
 * @example
 * ```ts
 * import type { ServerStats } from "@ferry/ferry";
 * const show = (s: ServerStats) => `${s.meanBatch.toFixed(1)} requests per drain`;
 * ```
 */
export interface ServerStats {
  /** Requests received by Rust (every answer, native or not). */
  requests: number;
  /** Requests handed to JavaScript through slots. */
  toJs: number;
  /** Requests answered by Rust alone (errors, limits, 404/405, …). */
  native: number;
  /** FFI calls by kind. */
  ffiCalls: {
    /** `ferry_pump` calls: each commits the answers so far, drives I/O and drains. */
    drain: number;
    /** `ferry_wait` calls (parking when idle). */
    wait: number;
    /** `ferry_commit` calls: answers committed on their own, while parked. */
    commit: number;
    setBody: number;
    readOverflow: number;
    total: number;
  };
  /** FFI calls per request handed to JavaScript. */
  ffiCallsPerRequest: number;
  /** Drains that returned at least one request. */
  batches: number;
  /** Mean requests per non-empty drain. */
  meanBatch: number;
  /** Times Rust woke the parked JavaScript side. */
  wakes: number;
  /** Awaits taken by middleware chains and handlers. */
  hops: number;
  /** Hops per request handed to JavaScript. */
  hopsPerRequest: number;
  /** Requests refused with 503 because every slot was busy. */
  rejectedFull: number;
  /** Slots currently held (requests in JavaScript). */
  slotsInUse: number;
  /** Open connections. */
  connections: number;
  /** Answers committed after the client had gone. */
  abandoned: number;
  /** Requests answered 504 because the handler took longer than `handlerTimeoutMs`. */
  timeouts: number;
  /**
   * Requests Rust declared over while a handler held them (client gone,
   * timed out, expired at shutdown): their slots came back when JavaScript
   * released them, and the handlers' reads of them throw.
   */
  cancelled: number;
}

interface Counters extends HopCounter {
  drain: number;
  wait: number;
  commit: number;
  setBody: number;
  readOverflow: number;
}

/** Internal start-up data for a Server. */
export interface ServerInit {
  lib: Native;
  id: number;
  hostname: string;
  slots: number;
  requestSlotBytes: number;
  responseSlotBytes: number;
  routes: readonly RunnableRoute[];
  counter: HopCounter;
  shutdownDeadlineMs: number;
  signal?: AbortSignal;
  onStartup: (() => void | Promise<void>)[];
  onShutdown: (() => void | Promise<void>)[];
}

/**
 * A running Ferry server, returned by `app.listen()`. Rust accepts and
 * parses; this object drains ready requests in batches, runs their plans and
 * commits the answers.
 *
 * @example Start, query, stop
 * ```ts
 * import { App } from "@ferry/ferry";
 * const app = new App();
 * app.get("/", () => "hi");
 * await using server = app.listen({ port: 0, hostname: "127.0.0.1" });
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * console.assert(await res.text() === "hi");
 * ```
 */
export class Server implements AsyncDisposable {
  /** Where the server listens. */
  readonly addr: ServerAddr;
  /** Resolves once the server has shut down. */
  readonly finished: Promise<void>;
  /**
   * Resolves once the start-up hooks ran and connections are accepted;
   * rejects (and the server shuts down) if a hook throws.
   */
  readonly ready: Promise<void>;
  #lib: Native;
  #id: number;
  #slots: number;
  #slotBytes: number;
  #u8: Uint8Array;
  #u32: Uint32Array;
  #drainIds: Uint32Array;
  #commitIds: Uint32Array;
  #writer: ReplyWriter;
  #routes: readonly RunnableRoute[];
  /**
   * The request each slot holds, while JavaScript holds it: released (and
   * the slot handed back) when answered, when Rust says it is over, or
   * when the server closes.
   */
  #sources: (SlotSource | undefined)[];
  /** Generation of the slot being written (for `ferry_set_body`). */
  #writing = 0;
  #pending = 0;
  /** Requests whose plan returned a promise that has not settled yet. */
  #unsettled = 0;
  #flushQueued = false;
  #parked = false;
  #closed = false;
  /** The native side failed (`ferry_pump` returned an error). */
  #failed = false;
  #loop: Promise<void>;
  #stopping?: Promise<void>;
  #deadline: number;
  #done!: () => void;
  #counters: Counters;
  #onShutdown: (() => void | Promise<void>)[];
  #finalNative = new Float64Array(STATS_LEN);
  #flushBound = () => this.#flush();

  /** Use `app.listen()`; this constructor is internal. */
  constructor(init: ServerInit) {
    const { lib, id } = init;
    this.#lib = lib;
    this.#id = id;
    this.#slots = init.slots;
    this.#slotBytes = init.requestSlotBytes + init.responseSlotBytes;
    this.#routes = init.routes;
    this.#sources = new Array(init.slots).fill(undefined);
    this.#deadline = init.shutdownDeadlineMs;
    this.#counters = Object.assign(init.counter, {
      drain: 0,
      wait: 0,
      commit: 0,
      setBody: 0,
      readOverflow: 0,
    });
    // Mapped once: per-request calls carry numbers only.
    const view = (ptr: Deno.PointerValue, bytes: number) =>
      Deno.UnsafePointerView.getArrayBuffer(ptr!, bytes);
    const arena = view(lib.ferry_server_arena(id), this.#slots * this.#slotBytes);
    this.#u8 = new Uint8Array(arena);
    this.#u32 = new Uint32Array(arena);
    this.#drainIds = new Uint32Array(view(lib.ferry_server_drain_ids(id), this.#slots * 8));
    this.#commitIds = new Uint32Array(view(lib.ferry_server_commit_ids(id), this.#slots * 8));
    this.#writer = new ReplyWriter(
      this.#u8,
      this.#u32,
      init.requestSlotBytes,
      init.responseSlotBytes,
      { setBody: (slot, body) => this.#setBody(slot, body) },
    );
    this.addr = { transport: "tcp", hostname: init.hostname, port: lib.ferry_server_port(id) };
    this.finished = new Promise((resolve) => this.#done = resolve);
    this.#onShutdown = init.onShutdown;
    this.#loop = this.#run();
    this.ready = this.#start(init.onStartup);
    init.signal?.addEventListener("abort", () => this.shutdown(), { once: true });
    // devloop (issue #16): `deno run --watch` replaces this isolate and
    // dispatches `unload` first; the reloaded module's server then takes
    // over the socket (ffi/src/handover.rs, docs/dev_loop.md).
    globalThis.addEventListener("unload", this.#orphanBound);
  }

  // devloop (issue #16): the isolate is going away with the server open.
  #orphanBound = () => {
    if (this.#closed) return;
    this.#closed = true;
    this.#releaseAll();
    this.#lib.ferry_server_orphan(this.#id);
  };

  async #start(hooks: (() => void | Promise<void>)[]): Promise<void> {
    try {
      for (const hook of hooks) await hook();
    } catch (error) {
      console.error("ferry: a start-up hook threw; shutting the server down:", error);
      await this.shutdown({ deadlineMs: 0 });
      throw error;
    }
    if (!this.#closed) this.#lib.ferry_server_begin(this.#id);
  }

  async #run(): Promise<void> {
    const lib = this.#lib;
    const id = this.#id;
    const max = this.#slots;
    const counters = this.#counters;
    let streak = 0;
    while (!this.#closed) {
      // One crossing per batch: commit the answers so far, drive I/O, drain.
      const n = lib.ferry_pump(id, this.#pending, max);
      this.#pending = 0;
      counters.drain++;
      if (n > 0) {
        const ids = this.#drainIds;
        for (let i = 0; i < 2 * n; i += 2) {
          const slot = ids[i];
          if (slot & CANCELLED) this.#cancel(slot & ~CANCELLED, ids[i + 1]);
          else this.#dispatch(slot, ids[i + 1]);
        }
        // Let promise continuations run; every 16 busy batches, also give
        // the event loop (timers, I/O) a turn through a zero-timeout wait.
        if (++streak < 16) {
          await null;
          // Async answers that settle within a few microtask turns (an
          // async handler awaiting the body, async middleware) make this
          // batch's commit instead of waiting a whole batch for the next.
          for (let i = 0; i < SETTLE_TURNS && this.#unsettled > 0; i++) await null;
          continue;
        }
      } else if (n < 0) {
        if (n !== Code.Closed && !this.#closed) {
          // Not a shutdown: the native side failed. Say why, then shut down
          // cleanly rather than leave clients hanging.
          console.error(
            `ferry: the native server failed (${lastError(lib)}); shutting it down`,
          );
          this.#closed = true;
          this.#failed = true;
        }
        break;
      }
      counters.wait++;
      // Answers of the last batch: committed inside the runtime (a pump
      // with no draining), where waking their connections is a local
      // queue push; `ferry_commit` from outside costs an eventfd write per
      // answer (profiled: ~6% of responses took that path).
      if (this.#pending > 0) {
        counters.drain++;
        lib.ferry_pump(id, this.#pending, 0);
        this.#pending = 0;
      }
      this.#parked = true;
      const woke = await lib.ferry_wait(id, streak >= 16 ? 0 : 1000);
      this.#parked = false;
      streak = 0;
      if (woke === Code.Closed) break;
    }
    if (this.#failed) this.#stopping ??= this.#abandon();
  }

  /** After a native failure: release every request, free the server, finish. */
  #abandon(): Promise<void> {
    this.#releaseAll();
    this.#lib.ferry_server_close(this.#id);
    this.#done();
    return Promise.resolve();
  }

  #dispatch(slot: number, generation: number): void {
    const offset = slot * this.#slotBytes;
    const u32 = this.#u32;
    const route = this.#routes[u32[(offset >>> 2) + Req.ROUTE]];
    const source = new SlotSource(this.#u8, u32, offset, slot, generation, this);
    this.#sources[slot] = source;
    if (route === undefined) {
      this.#answer(slot, generation, problem(500, "Unknown route id."), source);
      return;
    }
    let out: Reply | Promise<Reply>;
    try {
      out = runPlan(route.plan, new Context(source, route.names), this.#counters);
    } catch (error) {
      out = errorReply(error);
    }
    if (out instanceof Reply) {
      this.#answer(slot, generation, out, source);
    } else {
      this.#unsettled++;
      out.then(
        (reply) => this.#answerLater(slot, generation, reply, source),
        (error) => this.#answerLater(slot, generation, errorReply(error), source),
      );
    }
  }

  #answer(slot: number, generation: number, reply: Reply, source: SlotSource): void {
    // Over already (client gone, timed out, server closed): the slot was
    // handed back, and may carry another request; never write into it.
    if (source.released) return;
    source.release();
    this.#sources[slot] = undefined;
    this.#writing = generation;
    try {
      this.#writer.write(slot, reply);
    } catch (error) {
      this.#writer.write(slot, errorReply(error));
    }
    this.#handBack(slot, generation);
  }

  /** Queues `(slot, generation)` for the next commit, which lets it go. */
  #handBack(slot: number, generation: number): void {
    const at = this.#pending++ * 2;
    this.#commitIds[at] = slot;
    this.#commitIds[at + 1] = generation;
  }

  /**
   * Rust says the request in `(slot, generation)` is over while a handler
   * holds it: its reads throw from now on, its answer will be dropped, and
   * the slot goes back with the next commit. A stale entry (already
   * answered, or a request JavaScript never saw) is ignored.
   */
  #cancel(slot: number, generation: number): void {
    const source = this.#sources[slot];
    if (source === undefined || source.generation !== generation) return;
    source.release();
    this.#sources[slot] = undefined;
    this.#handBack(slot, generation);
  }

  #answerLater(slot: number, generation: number, reply: Reply, source: SlotSource): void {
    this.#unsettled--;
    if (this.#closed) return;
    this.#answer(slot, generation, reply, source);
    // While the loop is running, its next pump commits this answer; only a
    // parked loop needs a commit call of its own.
    if (this.#parked && !this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushBound);
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#pending === 0 || this.#closed) return;
    this.#lib.ferry_commit(this.#id, this.#pending);
    this.#counters.commit++;
    this.#pending = 0;
  }

  #setBody(slot: number, body: Uint8Array): void {
    this.#counters.setBody++;
    this.#lib.ferry_set_body(this.#id, slot, this.#writing, body, body.length);
  }

  /** Copies an overflowed request record out of Rust (internal). */
  readOverflow(slot: number, generation: number, total: number): Uint8Array {
    this.#counters.readOverflow++;
    const bytes = new Uint8Array(total);
    this.#lib.ferry_read_overflow(this.#id, slot, generation, bytes, total);
    return bytes;
  }

  /** The server's counters. */
  stats(): ServerStats {
    const c = this.#counters;
    const native = this.#closed ? this.#finalNative : new Float64Array(STATS_LEN);
    if (!this.#closed) this.#lib.ferry_server_stats(this.#id, native, native.length);
    const [requests, toJs, nativeAnswers, wakes, full, drained, batches] = native;
    const total = c.drain + c.wait + c.commit + c.setBody + c.readOverflow;
    return {
      requests,
      toJs,
      native: nativeAnswers,
      ffiCalls: {
        drain: c.drain,
        wait: c.wait,
        commit: c.commit,
        setBody: c.setBody,
        readOverflow: c.readOverflow,
        total,
      },
      ffiCallsPerRequest: toJs ? total / toJs : 0,
      batches,
      meanBatch: batches ? drained / batches : 0,
      wakes,
      hops: c.hops,
      hopsPerRequest: toJs ? c.hops / toJs : 0,
      rejectedFull: full,
      slotsInUse: native[8],
      connections: native[9],
      abandoned: native[10],
      timeouts: native[11],
      cancelled: native[12],
    };
  }

  /**
   * Stops accepting, lets in-flight requests finish (up to `deadlineMs`,
   * default from `listen()`), runs the `onShutdown` hooks, then frees the
   * native server. Idempotent: later calls return the same promise.
   *
   * Requests whose handler has not answered by the deadline get
   * `503 Service Unavailable` with `Retry-After: 1` (a problem+json body),
   * and their connections close; their slots are reclaimed, and an answer
   * the handler gives later is ignored.
   *
   * @example Stop, giving in-flight requests up to 2 s
   * ```ts
   * import { App } from "@ferry/ferry";
   * const server = new App().listen({ port: 0, hostname: "127.0.0.1" });
   * await server.shutdown({ deadlineMs: 2000 });
   * ```
   */
  shutdown(options?: { deadlineMs?: number }): Promise<void> {
    this.#stopping ??= this.#stop(options?.deadlineMs ?? this.#deadline);
    return this.#stopping;
  }

  async #stop(deadlineMs: number): Promise<void> {
    // Rust stops accepting and closes connections as they go idle; the loop
    // keeps answering meanwhile. Poll until none is left or time is up.
    const lib = this.#lib;
    const id = this.#id;
    let open = lib.ferry_server_shutdown(id);
    const until = async (end: number) => {
      while (open > 0 && Date.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        open = this.stats().connections;
      }
    };
    await until(Date.now() + deadlineMs);
    this.#flush();
    if (open > 0) {
      // Past the deadline: Rust answers every request still waiting for its
      // handler 503 with `Retry-After: 1` (answers written before this were
      // committed just above). The connections send those and close while
      // the loop keeps pumping; a handler that answers later is ignored.
      const expired = lib.ferry_server_expire(id);
      if (expired > 0) {
        console.error(
          `ferry: shutdown passed its ${deadlineMs} ms deadline; ${expired} request(s) still ` +
            "waiting for a handler were answered 503 (raise shutdownDeadlineMs to wait longer)",
        );
      }
      await until(Date.now() + EXPIRE_GRACE_MS);
      this.#flush();
    }
    for (const hook of this.#onShutdown) {
      try {
        await hook();
      } catch (error) {
        console.error("ferry: a shutdown hook threw:", error);
      }
    }
    // Keep the last native counters readable after the memory is freed.
    this.#lib.ferry_server_stats(this.#id, this.#finalNative, this.#finalNative.length);
    this.#closed = true;
    // Handlers still running hold views of the arena that is about to be
    // freed: release them first (JavaScript is single-threaded, so no read
    // can slip in between), and their later reads throw.
    this.#releaseAll();
    globalThis.removeEventListener("unload", this.#orphanBound); // devloop (issue #16)
    const code = this.#lib.ferry_server_close(this.#id);
    await this.#loop;
    if (code < 0) {
      console.error(`ferry: closing the server failed: ${lastError(this.#lib)}`);
    }
    this.#done();
  }

  #releaseAll(): void {
    for (let slot = 0; slot < this.#sources.length; slot++) {
      this.#sources[slot]?.release("closed");
      this.#sources[slot] = undefined;
    }
  }

  /** Shuts the server down (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

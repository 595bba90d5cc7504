import { Code, type Native } from "./_symbols.ts";
import { lastError } from "./_native.ts";
import { BODY, CANCELLED, Op, Req, WRITABLE } from "./_layout.ts";
import { SlotStream } from "./_slot_stream.ts";
import { afterWakes } from "./_sleep.ts";
import { Context } from "./context.ts";
import { errorReply, problem } from "./_outcome.ts";
import { type HopCounter, type Plan, runPlan } from "./_plan.ts";
import { Reply } from "./reply.ts";
import { ReplyWriter } from "./_encode.ts";
import { SlotSource } from "./_source.ts";
import { BodyFeeds } from "./_body_feeds.ts";
import { WsHub } from "./_ws_hub.ts";
import { type Counters, type ServerStats, STATS_LEN, statsOf } from "./server_stats.ts";

export type { ServerStats };
import { ticketOf } from "./_ws_upgrade.ts";
import type { WebSocketData } from "./websocket.ts";

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

/**
 * Microtask turns a busy loop waits for streams that just got credit back
 * to write their next chunk (a ReadableStream's pull takes several).
 */
const STREAM_SETTLE_TURNS = 32;

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
  streamHighWaterMark: number;
  /** Most WebSockets open at once; 0 when no route is a WebSocket route. */
  maxSockets: number;
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
  #reqBytes: number;
  #resBytes: number;
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
  /** Streamed answers by slot, from their head until they end. */
  #streams: (SlotStream | undefined)[];
  /** Streams with something for the next commit. */
  #dirty: SlotStream[] = [];
  #markDirty = (stream: SlotStream) => this.#queueStream(stream);
  #streamWrites = 0;
  #highWaterMark: number;
  /** Request bodies streaming in, by slot: where their next chunk goes. */
  #bodies: BodyFeeds;
  #openBody = (source: SlotSource) => this.#bodies.open(source);
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
  #streamFlushQueued = false;
  #streamFlushBound = () => {
    this.#streamFlushQueued = false;
    if (this.#parked) this.#flush();
  };
  /**
   * A WebSocket action was queued: a running loop commits it with its next
   * pump; a parked one after a macrotask turn, so the sends of every timer
   * of this turn (a broadcast tick) share one commit.
   */
  #wsCommitBound = () => {
    if (this.#parked && !this.#streamFlushQueued) {
      this.#streamFlushQueued = true;
      setTimeout(this.#streamFlushBound, 0);
    }
  };
  /** Streams whose head is not sent yet and which have not ended. */
  #fresh = 0;
  /** Streams given credit back in this batch. */
  #refilling = 0;
  /** WebSockets (`app.ws`), when some route is one. */
  #ws: WsHub | undefined;

  /** Use `app.listen()`; this constructor is internal. */
  constructor(init: ServerInit) {
    const { lib, id } = init;
    this.#lib = lib;
    this.#id = id;
    this.#slots = init.slots;
    this.#slotBytes = init.requestSlotBytes + init.responseSlotBytes;
    this.#reqBytes = init.requestSlotBytes;
    this.#resBytes = init.responseSlotBytes;
    this.#routes = init.routes;
    this.#sources = new Array(init.slots).fill(undefined);
    this.#streams = new Array(init.slots).fill(undefined);
    this.#bodies = new BodyFeeds(init.slots, (slot, generation) => {
      this.#handBack(slot, generation, Op.PULL);
      if (this.#parked && !this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(this.#flushBound);
      }
    });
    this.#deadline = init.shutdownDeadlineMs;
    this.#highWaterMark = init.streamHighWaterMark;
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
    this.#commitIds = new Uint32Array(
      view(lib.ferry_server_commit_ids(id), this.#slots * Op.WORDS * 4),
    );
    this.#writer = new ReplyWriter(
      this.#u8,
      this.#u32,
      init.requestSlotBytes,
      init.responseSlotBytes,
      { setBody: (slot, body) => this.#setBody(slot, body) },
    );
    if (init.maxSockets > 0) {
      this.#ws = new WsHub(lib, id, init.maxSockets, this.#flushBound, this.#wsCommitBound);
    }
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
  // Requests already queued for this code are answered now when their
  // handlers are synchronous; the rest get 503 (docs/dev_loop.md).
  #orphanBound = () => {
    if (this.#closed) return;
    const n = this.#lib.ferry_server_detach(this.#id, this.#slots);
    const ids = this.#drainIds;
    for (let i = 0; i < 2 * Math.max(0, n); i += 2) {
      const slot = ids[i];
      if (slot & CANCELLED) this.#cancel(slot & ~CANCELLED, ids[i + 1]);
      else this.#dispatch(slot, ids[i + 1]);
    }
    this.#flush();
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
      // One crossing per batch: commit the answers and stream chunks so
      // far, drive I/O, drain.
      if (this.#dirty.length > 0) this.#flushStreams();
      const n = lib.ferry_pump(id, this.#pending, max);
      this.#pending = 0;
      counters.drain++;
      // WebSocket events of the same drain (their count is in the area).
      const events = this.#ws === undefined ? 0 : this.#ws.deliver();
      if (n > 0 || events > 0) {
        const ids = this.#drainIds;
        for (let i = 0; i < 2 * n; i += 2) {
          const slot = ids[i];
          if (slot & CANCELLED) this.#cancel(slot & ~CANCELLED, ids[i + 1]);
          else if (slot & WRITABLE) this.#writable(slot & ~WRITABLE, ids[i + 1]);
          else if (slot & BODY) this.#bodyChunk(slot & ~BODY, ids[i + 1]);
          else this.#dispatch(slot, ids[i + 1]);
        }
        // Let promise continuations run; every 16 busy batches, also give
        // the event loop (timers, I/O) a turn through a zero-timeout wait.
        if (++streak < 16) {
          await null;
          // Async answers that settle within a few microtask turns (an
          // async handler awaiting the body, async middleware) make this
          // batch's commit instead of waiting a whole batch for the next.
          // A fresh stream whose body ends within them (a Response with a
          // ready body) then goes out whole, with content-length.
          for (let i = 0; i < SETTLE_TURNS && this.#unsettled + this.#fresh > 0; i++) {
            await null;
          }
          if (this.#refilling > 0) await this.#awaitRefills();
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
      // Before parking too (its chunk just went out in this pump). Counted
      // as a busy batch, so timers still get their turn every 16.
      if (this.#refilling > 0 && ++streak < 16) {
        await this.#awaitRefills();
        if (this.#dirty.length > 0) continue;
      }
      this.#refilling = 0;
      counters.wait++;
      // Answers of the last batch: committed inside the runtime (a pump
      // with no draining), where waking their connections is a local
      // queue push; `ferry_commit` from outside costs an eventfd write per
      // answer (profiled: ~6% of responses took that path).
      if (this.#dirty.length > 0) this.#flushStreams();
      if (this.#pending > 0 || this.#ws?.dirty) {
        counters.drain++;
        lib.ferry_pump(id, this.#pending, 0);
        this.#pending = 0;
        // Events drained by that pump are handled now, not lost.
        if (this.#ws !== undefined && this.#ws.deliver() > 0) continue;
      }
      this.#parked = true;
      const woke = await lib.ferry_wait(id, streak >= 16 ? 0 : 1000);
      this.#parked = false;
      streak = 0;
      if (woke === Code.Closed) break;
    }
    if (this.#failed) this.#stopping ??= this.#abandon();
  }

  /**
   * A stream given credit back refills within a few turns (a
   * ReadableStream's pull, a writer's await): wait for its next chunk so the
   * next pump carries it, instead of parking and committing it from outside.
   */
  async #awaitRefills(): Promise<void> {
    for (let i = 0; i < STREAM_SETTLE_TURNS && this.#dirty.length === 0; i++) await null;
    this.#refilling = 0;
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
    const source = new SlotSource(this.#u8, u32, offset, slot, generation, this, this.#openBody);
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
    const ticket = reply.status === 101 ? ticketOf(reply) : undefined;
    if (ticket !== undefined) this.#ws?.expect(slot, generation, ticket);
    if (reply.stream !== undefined && reply.sealed() === reply) {
      // The head (and first chunks) go with the next commit; the request
      // stays readable while the stream runs.
      const stream = new SlotStream(
        slot,
        generation,
        reply,
        source,
        reply.stream,
        this.#highWaterMark,
        this.#markDirty,
        this.#u8.subarray(
          slot * this.#slotBytes + this.#reqBytes,
          (slot + 1) * this.#slotBytes,
        ),
      );
      this.#streams[slot] = stream;
      this.#fresh++;
      this.#queueStream(stream);
      stream.start();
      return;
    }
    source.release();
    this.#sources[slot] = undefined;
    this.#bodies.end(slot, "the handler answered before reading the whole body");
    this.#writing = generation;
    try {
      this.#writer.write(slot, reply);
    } catch (error) {
      this.#writer.write(slot, errorReply(error));
    }
    this.#handBack(slot, generation);
  }

  /** Queues an entry for the next commit: `(slot, generation, ops, length)`. */
  #handBack(slot: number, generation: number, ops: number = Op.ANSWER, length = 0): void {
    // The commit array is Rust memory, freed with a closed server.
    if (this.#closed) return;
    const at = this.#pending++ * Op.WORDS;
    const ids = this.#commitIds;
    ids[at] = slot;
    ids[at + 1] = generation;
    ids[at + 2] = ops;
    ids[at + 3] = length;
  }

  /**
   * Rust says the request in `(slot, generation)` is over while a handler
   * holds it: its reads throw from now on, its answer will be dropped (a
   * stream is cancelled), and the slot goes back with the next commit. A
   * stale entry (already answered, or a request JavaScript never saw) is
   * ignored.
   */
  #cancel(slot: number, generation: number): void {
    const source = this.#sources[slot];
    if (source === undefined || source.generation !== generation) return;
    source.release("over", true);
    this.#sources[slot] = undefined;
    this.#bodies.end(slot, "the request is over (client gone, body too large or too slow)");
    const stream = this.#streams[slot];
    if (stream !== undefined) {
      this.#streams[slot] = undefined;
      if (!stream.headSent) this.#fresh--;
      stream.cancel("the client went away");
    }
    this.#handBack(slot, generation, Op.RELEASE);
  }

  /** Rust took every byte of a stream: its producer may write again. */
  #writable(slot: number, generation: number): void {
    const stream = this.#streams[slot];
    if (stream !== undefined && stream.generation === generation) {
      stream.writable();
      this.#refilling++;
    }
  }

  /** The next chunk of a streamed request body is in the slot's response area. */
  #bodyChunk(slot: number, generation: number): void {
    const at = slot * this.#slotBytes + this.#reqBytes;
    this.#bodies.chunk(slot, generation, this.#u8, this.#u32, at);
  }

  #queueStream(stream: SlotStream): void {
    if (stream.queued) return;
    stream.queued = true;
    this.#dirty.push(stream);
    // A running loop commits it at its next pump; a parked one commits on
    // its own, after a macrotask turn, so that the writes of every timer
    // and I/O callback of this turn (an SSE fan-out) share one commit. A
    // stream refilling after a writable event is the pipeline's critical
    // path: it is committed after the current microtasks instead. Writes
    // of streams a sleep queue woke (`s.sleep()`, the fan-out's usual
    // shape) are committed once all the streams it woke have written, in
    // the same turn: no timer turn of its own for the commit.
    if (!this.#parked) return;
    if (stream.refilling) {
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(this.#flushBound);
      }
    } else if (!this.#streamFlushQueued) {
      this.#streamFlushQueued = true;
      if (!afterWakes(this.#streamFlushBound)) setTimeout(this.#streamFlushBound, 0);
    }
  }

  /**
   * Turns every stream with news into one commit entry: its head (with the
   * chunks so far as its body; a stream already ended goes out as a whole
   * answer with `content-length`), its next chunk in the slot's response
   * area (or, past the area, one `ferry_stream_write`), a request for a
   * writable event when it is out of credit, its end.
   */
  #flushStreams(): void {
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const stream of dirty) {
      stream.queued = false;
      const { slot, generation } = stream;
      if (stream.closed || this.#streams[slot] !== stream) continue;
      let ops = 0;
      let length = 0;
      if (!stream.headSent) {
        stream.headSent = true;
        this.#fresh--;
        const head = stream.head;
        head.body = stream.pendingBytes > 0 ? stream.takeBytes() : null;
        this.#writing = generation;
        this.#writer.write(slot, head);
        head.body = null;
        if (stream.ended && !stream.failed) {
          this.#endStream(stream);
          this.#handBack(slot, generation, Op.ANSWER);
          continue;
        }
        ops = Op.HEAD;
      } else if (stream.areaBytes > 0 && stream.chunks.length === 0) {
        // Encoded in place by its writes.
        ops |= Op.CHUNK;
        length = stream.takeArea();
      } else if (stream.pendingBytes > 0) {
        const bytes = stream.takeBytes();
        if (bytes.length <= this.#resBytes) {
          this.#u8.set(bytes, slot * this.#slotBytes + this.#reqBytes);
          ops |= Op.CHUNK;
          length = bytes.length;
        } else {
          this.#streamWrites++;
          this.#lib.ferry_stream_write(this.#id, slot, generation, bytes, bytes.length);
          // The entry (length 0) wakes the body, inside the pump.
          ops |= Op.CHUNK;
        }
      }
      // Still in credit after a writable event: its next chunk comes within
      // a few microtasks, and the loop waits for it before parking.
      if (stream.refilling && !stream.blocked && !stream.ended) this.#refilling++;
      if (stream.blocked && !stream.waitSent && !stream.ended) {
        stream.waitSent = true;
        ops |= Op.WAIT;
      }
      if (stream.ended) {
        ops |= stream.failed ? Op.ABORT : Op.END;
        this.#endStream(stream);
      }
      if (ops !== 0) this.#handBack(slot, generation, ops, length);
    }
  }

  /** The stream's last entry is queued: the request is no longer read. */
  #endStream(stream: SlotStream): void {
    this.#bodies.end(stream.slot, "the response ended before the body was read");
    this.#streams[stream.slot] = undefined;
    if (!stream.headSent) this.#fresh--;
    stream.source.release();
    this.#sources[stream.slot] = undefined;
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
    if (this.#closed) return;
    if (this.#dirty.length > 0) this.#flushStreams();
    if (this.#pending === 0 && !this.#ws?.dirty) return;
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

  /**
   * Sends a message to every WebSocket subscribed to `topic`
   * (`ws.subscribe`), fanned out in Rust: one action however many
   * subscribers. Returns the message's bytes, or 0 when nobody is
   * subscribed.
   *
   * @example A clock every socket of `/clock` hears
   * ```ts
   * import { App } from "@ferry/ferry";
   * const app = new App().ws("/clock", { open(ws) { ws.subscribe("time"); } });
   * const server = app.listen({ port: 0, hostname: "127.0.0.1" });
   * const tick = setInterval(() => server.publish("time", new Date().toISOString()), 1000);
   * clearInterval(tick);
   * await server.shutdown();
   * ```
   */
  publish(topic: string, message: WebSocketData): number {
    const ws = this.#ws;
    if (ws === undefined || this.#closed || ws.subscriberCount(topic) === 0) return 0;
    return ws.publish(topic, message);
  }

  /**
   * WebSockets subscribed to `topic` now.
   *
   * @example
   * ```ts
   * import { App } from "@ferry/ferry";
   * const server = new App().ws("/feed", {}).listen({ port: 0, hostname: "127.0.0.1" });
   * console.assert(server.subscriberCount("news") === 0);
   * await server.shutdown();
   * ```
   */
  subscriberCount(topic: string): number {
    return this.#ws?.subscriberCount(topic) ?? 0;
  }

  /** The server's counters. */
  stats(): ServerStats {
    const native = this.#closed ? this.#finalNative : new Float64Array(STATS_LEN);
    if (!this.#closed) this.#lib.ferry_server_stats(this.#id, native, native.length);
    return statsOf(native, this.#counters, this.#streamWrites, this.#ws?.counters);
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
    let open = lib.ferry_server_shutdown(id) + (this.#ws?.open ?? 0);
    const until = async (end: number) => {
      while (open > 0 && Date.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        const stats = this.stats();
        open = stats.connections + stats.socketsOpen;
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
    this.#ws?.closeAll();
    for (let slot = 0; slot < this.#sources.length; slot++) {
      this.#bodies.end(slot, "the server shut down");
      this.#sources[slot]?.release("closed", true);
      this.#sources[slot] = undefined;
      this.#streams[slot]?.cancel("the server shut down");
      this.#streams[slot] = undefined;
    }
  }

  /** Shuts the server down (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

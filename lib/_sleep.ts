// Sleeps for streams (`w.sleep()`, `s.sleep()`): an SSE loop sleeps once
// per event, and a timer each (Deno's `setTimeout` builds a `Timeout`
// object and a list entry) was ~20% of the JavaScript time per event in
// `sse-fanout`. Sleeps of one duration fall due in the order they were
// taken, so each duration keeps a queue and one timer, armed for its head,
// that wakes every sleep due by then: a sleep costs three array pushes, and
// 1,000 streams sleeping 100 ms fire about one timer a millisecond (timers
// have millisecond resolution) instead of ten.

/**
 * Microtask hops `fire()` waits before it runs the `afterWakes` callbacks:
 * a woken `await s.sleep()` resumes one hop later and writes at once; an
 * `await` on a wrapper (an async helper, `Promise.race`) takes a few more.
 */
const WAKE_SETTLE_HOPS = 4;

/** Callbacks waiting for the senders of the current `fire()` to resume. */
let afterWake: (() => void)[] = [];
/** A `fire()` woke sleeps and its `afterWakes` callbacks have not run yet. */
let waking = false;

function settle(hops: number): void {
  if (hops > 0) {
    queueMicrotask(() => settle(hops - 1));
    return;
  }
  waking = false;
  const callbacks = afterWake;
  afterWake = [];
  for (const callback of callbacks) callback();
}

/**
 * While a sleep queue's timer is waking sleeps (from the timer callback
 * until their resumed code has run a few microtask hops), queues
 * `callback` to run once they have and returns true; otherwise returns
 * false. The server commits the writes of every stream such a wake-up
 * resumed in one go this way, in the timer's own turn, instead of
 * scheduling a `setTimeout(0)` for them: an event loop turn cost ~100 µs
 * of the JavaScript thread here (Deno 2.9, `setTimeout` chains).
 */
export function afterWakes(callback: () => void): boolean {
  if (!waking) return false;
  afterWake.push(callback);
  return true;
}

class SleepQueue {
  dues: number[] = [];
  wakes: (() => void)[] = [];
  /** Wakes to forget once woken (the sink's pending set). */
  owners: Set<() => void>[] = [];
  head = 0;
  armed = false;
  ms: number;
  #fire = () => this.fire();

  constructor(ms: number) {
    this.ms = ms;
  }

  add(wake: () => void, owner: Set<() => void>): void {
    this.dues.push(performance.now() + this.ms);
    this.wakes.push(wake);
    this.owners.push(owner);
    if (!this.armed) this.#arm(this.ms);
  }

  #arm(delay: number): void {
    this.armed = true;
    setTimeout(this.#fire, delay);
  }

  fire(): void {
    this.armed = false;
    const { dues, wakes, owners } = this;
    const now = performance.now();
    let i = this.head;
    if (i < dues.length && dues[i] <= now && !waking) {
      waking = true;
      settle(WAKE_SETTLE_HOPS);
    }
    for (; i < dues.length && dues[i] <= now; i++) {
      const wake = wakes[i];
      owners[i].delete(wake);
      wake();
    }
    if (i === dues.length) {
      this.dues = [];
      this.wakes = [];
      this.owners = [];
      this.head = 0;
      queues.delete(this.ms);
      return;
    }
    this.head = i;
    // Drop the woken prefix once it is most of the arrays.
    if (i > 1024 && i * 2 > dues.length) {
      this.dues = dues.slice(i);
      this.wakes = wakes.slice(i);
      this.owners = owners.slice(i);
      this.head = 0;
    }
    this.#arm(Math.max(1, Math.ceil(this.dues[this.head] - performance.now())));
  }
}

const queues = new Map<number, SleepQueue>();

/**
 * Calls `wake` once `ms` milliseconds passed (as late as timers run; `ms`
 * is a whole number from 1 to 2^31 - 1), unless `owner` (a sink's pending
 * sleeps) is emptied first: whoever empties it wakes its sleeps itself.
 */
export function sleepFor(ms: number, wake: () => void, owner: Set<() => void>): void {
  let queue = queues.get(ms);
  if (queue === undefined) queues.set(ms, queue = new SleepQueue(ms));
  owner.add(wake);
  queue.add(wake, owner);
}

// Sleeps for streams (`w.sleep()`, `s.sleep()`): an SSE loop sleeps once
// per event, and a timer each (Deno's `setTimeout` builds a `Timeout`
// object and a list entry) was ~20% of the JavaScript time per event in
// `sse-fanout`. Sleeps of one duration fall due in the order they were
// taken, so each duration keeps a queue and one timer, armed for its head,
// that wakes every sleep due by then: a sleep costs three array pushes, and
// 1,000 streams sleeping 100 ms fire about one timer a millisecond (timers
// have millisecond resolution) instead of ten.

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

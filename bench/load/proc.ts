/**
 * Reading a server's cost from `/proc`: CPU time (utime + stime, summed over
 * the process and its live descendants) and peak resident memory (VmHWM).
 *
 * @module
 */

/** Clock ticks per second of `/proc/PID/stat` times (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS = 100;

/** Reads utime + stime of one process in clock ticks, or 0 if it is gone. */
function ticksOf(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 2 (comm) may hold spaces: parse after its closing parenthesis.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

/** Lists the live descendants of `pid` through `/proc/PID/task/TID/children`. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  for (let i = 0; i < queue.length && i < 1024; i++) {
    let tasks: Deno.DirEntry[] = [];
    try {
      tasks = [...Deno.readDirSync(`/proc/${queue[i]}/task`)];
    } catch {
      continue;
    }
    for (const task of tasks) {
      let text = "";
      try {
        text = Deno.readTextFileSync(
          `/proc/${queue[i]}/task/${task.name}/children`,
        );
      } catch {
        continue;
      }
      for (const child of text.trim().split(/\s+/).filter(Boolean)) {
        found.push(Number(child));
        queue.push(Number(child));
      }
    }
  }
  return found;
}

/** CPU seconds (user + system) used so far by `pid` and its descendants. */
export function cpuSeconds(pid: number): number {
  let ticks = ticksOf(pid);
  for (const child of descendants(pid)) ticks += ticksOf(child);
  return ticks / CLOCK_TICKS;
}

/** Reads a `kB` field of `/proc/PID/status` in bytes, or 0. */
function statusBytes(pid: number, field: string): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Peak resident set size (VmHWM) of `pid` plus its descendants, in bytes. */
export function peakRssBytes(pid: number): number {
  let total = statusBytes(pid, "VmHWM");
  for (const child of descendants(pid)) total += statusBytes(child, "VmHWM");
  return total;
}

/**
 * Busy CPU seconds of the whole machine so far (user, nice, system, irq,
 * softirq, steal from the `cpu` line of /proc/stat).
 */
export function machineBusySeconds(): number {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds of this process plus its reaped children (utime, stime,
 * cutime, cstime): a finished `wrk` run shows up here once it is reaped.
 */
export function selfAndReapedSeconds(): number {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14..17 (utime, stime, cutime, cstime) are rest[11..14].
    return (Number(rest[11]) + Number(rest[12]) + Number(rest[13]) +
      Number(rest[14])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

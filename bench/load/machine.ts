/**
 * Describing the machine and tools a load-benchmark run used, and checking
 * that the tools it needs (`wrk`, `taskset`) are present.
 *
 * @module
 */
import { versionOf } from "./peers.ts";

/** Whether `cmd` can be executed (it runs and exits, whatever the code). */
export async function hasTool(cmd: string, args: string[]): Promise<boolean> {
  try {
    await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" })
      .output();
    return true;
  } catch {
    return false;
  }
}

/** CPU model name from /proc/cpuinfo. */
function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return info.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Machine line data: cores, CPU, OS, tool versions, date. */
export async function describeMachine(
  root: string,
  bunBin: string | null,
): Promise<Record<string, string | number>> {
  const strip = (s: string, prefix: RegExp) => s.replace(prefix, "").trim();
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: cpuModel(),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    node: strip(await versionOf(["node", "--version"], root), /^v/),
    bun: bunBin ? await versionOf([bunBin, "--version"], root) : "n/a",
    wrk: strip(await versionOf(["wrk", "-v"], root), / \[.*$/),
    date: new Date().toISOString(),
  };
}

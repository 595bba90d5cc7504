/**
 * The correctness check run before any timing: one request per (peer,
 * scenario) with `fetch`, comparing status, body bytes, content type and
 * required headers; pipelined scenarios also get a raw pipelined exchange.
 *
 * @module
 */
import type { Scenario } from "./scenarios.ts";

/** Returns null when the peer answers `scenario` correctly, else the reason. */
export async function checkScenario(
  scenario: Scenario,
  port: number,
  staticBytes: Uint8Array,
): Promise<string | null> {
  const headers: Record<string, string> = {
    // wrk sends no Accept-Encoding; neither do we (fetch would add one).
    "accept-encoding": "identity",
    ...scenario.headers,
  };
  if (scenario.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${port}${scenario.path}`, {
      method: scenario.method,
      headers,
      body: scenario.body,
      signal: AbortSignal.timeout(5000),
    });
  } catch (e) {
    return `request failed: ${(e as Error).message}`;
  }
  const body = new Uint8Array(await res.arrayBuffer());
  const want = scenario.expect;
  if (res.status !== want.status) {
    return `status ${res.status}, expected ${want.status}`;
  }
  const ctype = res.headers.get("content-type");
  if (ctype !== want.contentType) {
    return `content-type ${JSON.stringify(ctype)}, expected ${JSON.stringify(want.contentType)}`;
  }
  for (const [name, value] of Object.entries(want.headers ?? {})) {
    const got = res.headers.get(name);
    if (got !== value) {
      return `header ${name}: ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`;
    }
  }
  if (want.problemErrors) return checkProblem(body, want.problemErrors);
  const expected = want.body === null ? staticBytes : new TextEncoder().encode(want.body);
  if (!sameBytes(body, expected)) {
    const shown = body.length > 80
      ? `${body.length} bytes`
      : JSON.stringify(new TextDecoder().decode(body));
    return `body ${shown}, expected ${
      want.body === null ? `${expected.length} bytes` : JSON.stringify(want.body)
    }`;
  }
  if (scenario.pipeline > 1) return await checkPipelined(scenario, port);
  return null;
}

/** Compares a problem+json body's errors with `[location, pointer, keyword]`s. */
function checkProblem(body: Uint8Array, want: [string, string, string][]): string | null {
  let got: string[][];
  try {
    const problem = JSON.parse(new TextDecoder().decode(body));
    got = (problem.errors as Record<string, string>[])
      .map((e) => [e.location, e.pointer, e.keyword])
      .sort((a, b) => a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
  } catch (e) {
    return `body is not a problem with errors: ${(e as Error).message}`;
  }
  const same = JSON.stringify(got) === JSON.stringify(want);
  return same ? null : `errors ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function countOf(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1 && n < 1e6;) {
    n++;
    i = haystack.indexOf(needle, i + needle.length);
  }
  return n;
}

/** Sends `pipeline` requests in one write and expects as many responses. */
async function checkPipelined(
  scenario: Scenario,
  port: number,
): Promise<string | null> {
  const one = `${scenario.method} ${scenario.path} HTTP/1.1\r\n` +
    `Host: 127.0.0.1:${port}\r\n\r\n`;
  const marker = scenario.expect.body ?? "";
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch (e) {
    return `pipelined connect failed: ${(e as Error).message}`;
  }
  const deadline = Date.now() + 5000;
  let text = "";
  try {
    await conn.write(new TextEncoder().encode(one.repeat(scenario.pipeline)));
    const buf = new Uint8Array(64 * 1024);
    const decoder = new TextDecoder();
    while (countOf(text, marker) < scenario.pipeline && Date.now() < deadline) {
      const timer = setTimeout(() => conn.close(), deadline - Date.now());
      const n = await conn.read(buf).finally(() => clearTimeout(timer));
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  } catch {
    // Closed by the deadline or the peer; judged by the count below.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
  const got = countOf(text, marker);
  return got >= scenario.pipeline ? null : `pipelined: ${got} of ${scenario.pipeline} responses`;
}

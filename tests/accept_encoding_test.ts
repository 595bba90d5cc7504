// One Accept-Encoding parser (issue #11, item 11): static files picking a
// precompressed sibling and compress() picking a coding must read the same
// header the same way.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { App, compress } from "../mod.ts";
import { rawExchange, serve } from "./_helpers.ts";

const SCRIPT = "console.log('a script long enough to be worth compressing');\n".repeat(40);

/** Tricky headers (one string per header line) and the coding both must choose. */
const CASES: [string[], string | null][] = [
  // q above 1 is not a qvalue (RFC 9110 §12.4.2): the element is refused.
  [["br;q=2, gzip;q=0.5"], "gzip"],
  // More than three decimals, exponents and signs are malformed too.
  [["br;q=0.5000, gzip;q=0.4"], "gzip"],
  [["br;q=1e0, gzip;q=0.1"], "gzip"],
  [["br;q=-0, gzip"], "gzip"],
  // Every Accept-Encoding line counts, not just the first.
  [["gzip;q=0.1", "br"], "br"],
  [["br;q=0", "gzip;q=0.2"], "gzip"],
  // Case, whitespace, ties (br first), `*` and explicit refusals.
  [["  GZIP ;  Q=0.9 ,BR;q=0.8  "], "gzip"],
  [["gzip;q=0.3, br;q=0.3"], "br"],
  [["br;q=0, *"], "gzip"],
  [["*;q=0.5, gzip;q=0.6"], "gzip"],
  [["identity;q=0, br;q=0, gzip;q=0"], null],
  [["identity"], null],
];

function request(path: string, lines: string[]): string {
  const accept = lines.map((line) => `accept-encoding: ${line}\r\n`).join("");
  return `GET ${path} HTTP/1.1\r\nhost: x\r\n${accept}connection: close\r\n\r\n`;
}

const codingOf = (raw: string) =>
  raw.slice(0, raw.indexOf("\r\n\r\n")).match(/\r\ncontent-encoding: *(\S+)/i)?.[1] ?? null;

Deno.test("static files and compress() choose the same coding for the same Accept-Encoding", async () => {
  const root = await Deno.makeTempDir({ prefix: "ferry_accept_" });
  try {
    await Deno.writeTextFile(`${root}/app.js`, SCRIPT);
    await Deno.writeTextFile(`${root}/app.js.br`, "BROTLI-BYTES");
    await Deno.writeTextFile(`${root}/app.js.gz`, "GZIP-BYTES");
    // Static files alone: the coding is the precompressed sibling chosen.
    await using statics = serve(new App().static("/assets", root));
    // compress(): for a handler's body and for a static file streamed through it.
    const app = new App().use(compress({ threshold: 16 }))
      .static("/plain", root, { precompressed: false });
    app.get("/text", () => SCRIPT);
    await using compressed = serve(app);
    // Every disagreement is collected, so one run shows them all.
    const wrong: string[] = [];
    const check = async (where: string, port: number, path: string) => {
      for (const [lines, expected] of CASES) {
        const got = codingOf(await rawExchange(port, request(path, lines)));
        if (got !== expected) {
          wrong.push(`${where} ${JSON.stringify(lines)}: ${got}, not ${expected}`);
        }
      }
    };
    await check("static", statics.server.addr.port, "/assets/app.js");
    await check("compress", compressed.server.addr.port, "/text");
    await check("streamed", compressed.server.addr.port, "/plain/app.js");
    assertEquals(wrong, []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

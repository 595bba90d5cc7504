// scripts/_autobahn_report.ts: reading a wstest report and summing it up
// (the Autobahn run itself is `deno task conformance:ws`, not a test).

import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { compareIds, readReport, summary } from "../scripts/_autobahn_report.ts";

Deno.test("compareIds() orders case ids numerically, part by part", () => {
  const ids = ["10.1.1", "9.10.1", "9.2.1", "1.1.10", "1.1.2", "1.1"];
  assertEquals(ids.sort(compareIds), ["1.1", "1.1.2", "1.1.10", "9.2.1", "9.10.1", "10.1.1"]);
});

Deno.test("readReport() and summary() count behaviors per section and list FAILED cases", () => {
  const dir = Deno.makeTempDirSync({ prefix: "ferry-autobahn-test-" });
  try {
    const index: Record<string, unknown> = {};
    const cases: [string, string, string][] = [
      ["1.1.1", "OK", "OK"],
      ["6.4.3", "NON-STRICT", "OK"],
      ["7.3.6", "OK", "FAILED BY CLIENT"],
      ["7.13.1", "INFORMATIONAL", "INFORMATIONAL"],
      ["10.1.1", "FAILED", "UNCLEAN"],
      ["12.1.1", "UNIMPLEMENTED", "OK"],
    ];
    for (const [id, behavior, behaviorClose] of cases) {
      const reportfile = `x_case_${id.replaceAll(".", "_")}.json`;
      index[id] = { behavior, behaviorClose, reportfile };
      Deno.writeTextFileSync(
        `${dir}/${reportfile}`,
        JSON.stringify({
          description: `Case <b>${id}</b><br>\nsecond line`,
          result: "Actual events differ.",
          resultClose: "Closed.",
        }),
      );
    }
    Deno.writeTextFileSync(`${dir}/index.json`, JSON.stringify({ x: index }));

    const read = readReport(dir, "x");
    assertEquals(read.map((c) => c.id), cases.map(([id]) => id));
    const text = summary(read);
    assertMatch(text, /^\| 6 UTF-8 handling \| 1 \| 0 \| 1 \| 0 \| 0 \| 0 \|$/m);
    assertMatch(text, /^\| 7 Close handling \| 2 \| 1 \| 0 \| 1 \| 0 \| 0 \|$/m);
    assertMatch(text, /^\| \*\*Total\*\* \| 6 \| 2 \| 1 \| 1 \| 1 \| 1 \|$/m);
    assertMatch(text, /^FAILED \(1\):\n- 10\.1\.1: Case 10\.1\.1 second line — /m);
    assertMatch(text, /^- 7\.3\.6 FAILED BY CLIENT: /m);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

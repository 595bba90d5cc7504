// `deno task release`: builds the native library for this machine's
// target, writes lib/_manifest.json (version, ABI, the crate's source list,
// and the SHA-256 of the built library under this target) and copies the
// library to ffi/target/dist/ under its release file name, ready to attach
// to the GitHub release `v<version>`. Other targets' entries are kept, so
// a release is the merge of one run per target.

import { ABI_VERSION } from "../lib/_symbols.ts";
import { libraryFileName } from "../lib/_library.ts";
import { sha256 } from "../lib/_install.ts";

const root = new URL("../", import.meta.url);
const manifestUrl = new URL("lib/_manifest.json", root);

const status = await new Deno.Command("cargo", {
  args: ["build", "--release", "--locked"],
  cwd: new URL("ffi/", root),
  stdout: "inherit",
  stderr: "inherit",
}).spawn().status;
if (!status.success) Deno.exit(status.code || 1);

/** Every file cargo needs to build the crate, relative to the package root. */
function sources(): string[] {
  const out = ["ffi/Cargo.lock", "ffi/Cargo.toml", "ffi/build.rs"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, root))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) walk(`${path}/`);
      else if (entry.name.endsWith(".rs")) out.push(path);
    }
  };
  walk("ffi/src/");
  return out.sort();
}

const version: string = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root))).version;
const lib = new URL(`ffi/target/release/${libraryFileName()}`, root);
const bytes = await Deno.readFile(lib);
const target = Deno.build.target;
const name = libraryFileName();
const file = name.replace(/(\.[a-z]+)$/, `-${target}$1`);
const old = JSON.parse(Deno.readTextFileSync(manifestUrl));
const manifest = {
  version,
  abi: ABI_VERSION,
  release: old.release,
  sources: sources(),
  targets: {
    ...(old.version === version && old.abi === ABI_VERSION ? old.targets : {}),
    [target]: { file, sha256: await sha256(bytes) },
  },
};
Deno.writeTextFileSync(manifestUrl, JSON.stringify(manifest, null, 2) + "\n");
await Deno.mkdir(new URL("ffi/target/dist/", root), { recursive: true });
await Deno.copyFile(lib, new URL(`ffi/target/dist/${file}`, root));
console.log(`lib/_manifest.json: ${target} → ${file} (${manifest.targets[target].sha256})`);
console.log(`upload ffi/target/dist/${file} to ${old.release.replace("{version}", version)}/`);

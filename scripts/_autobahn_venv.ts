// The Autobahn|Testsuite's Python 2.7 virtualenv for scripts/conformance_ws.ts:
// found or built once under the Ferry cache (`$FERRY_CACHE_DIR/autobahn`, else
// `~/.cache/ferry/autobahn`), rebuilt when the pins or the interpreter change.
//
// wstest never moved to Python 3, and its dependencies' newest releases dropped
// Python 2, so every package is pinned to the last release that installs and
// runs on 2.7 (found by doing it, 2026-12). Python 2.7 rarely ships virtualenv,
// so a pinned one is first installed into `bootstrap/` with the interpreter's
// own pip (`pip install --target`), leaving that Python untouched.

import { cacheRoot } from "../lib/_library.ts";

/** The virtualenv builder: 20.15.1 is the last release that runs on Python 2.7. */
const BOOTSTRAP = [
  "virtualenv==20.15.1",
  "distlib==0.4.4",
  "filelock==3.2.1",
  "platformdirs==2.0.2",
  "six==1.17.0",
  "importlib-metadata==2.1.3",
  "importlib-resources==3.3.1",
  "pathlib2==2.3.7.post1",
  "contextlib2==0.6.0.post1",
  "configparser==4.0.2",
  "singledispatch==3.7.0",
  "zipp==1.2.0",
  "typing==3.10.0.0",
];

/** `pip freeze` of a working environment (autobahntestsuite 25.10.1 on Python 2.7.18). */
export const REQUIREMENTS = [
  "autobahntestsuite==25.10.1",
  "autobahn==0.10.9",
  "Twisted==19.10.0",
  "txaio==2.1.0",
  "wsaccel==0.6.6",
  "ujson==2.0.3",
  "zope.interface==4.6.0",
  "Automat==22.10.0",
  "attrs==21.4.0",
  "constantly==15.1.0",
  "hyperlink==21.0.0",
  "idna==2.10",
  "incremental==16.10.1",
  "PyHamcrest==1.10.1",
  "typing==3.10.0.0",
  "six==1.16.0",
  "klein==17.10.0",
  "Werkzeug==1.0.1",
  "Jinja2==2.11.3",
  "MarkupSafe==1.1.1",
  "cryptography==3.3.2",
  "cffi==1.15.1",
  "pycparser==2.21",
  "enum34==1.1.10",
  "ipaddress==1.0.23",
  "pyOpenSSL==19.1.0",
  "service-identity==18.1.0",
  "pyasn1==0.5.1",
  "pyasn1-modules==0.3.0",
  "unittest2==1.1.0",
  "linecache2==1.0.0",
  "traceback2==1.4.0",
  "argparse==1.4.0",
];

const FIX = "Install Python 2.7 (e.g. `pyenv install 2.7.18`) or set FERRY_PYTHON2 to its " +
  "interpreter (e.g. FERRY_PYTHON2=~/.pyenv/versions/2.7.18/bin/python).";

/** Runs a command, capturing its output; a missing program is `undefined`. */
async function run(
  program: string,
  args: string[],
  env?: Record<string, string>,
): Promise<Deno.CommandOutput | undefined> {
  try {
    return await new Deno.Command(program, { args, env, stdin: "null" }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw error;
  }
}

/** Prints a failed step's output and throws. */
function fail(step: string, output: Deno.CommandOutput): never {
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  console.error(text.split("\n").slice(-40).join("\n"));
  throw new Error(`${step} failed (exit ${output.code}); its output is above`);
}

/** Candidate Python 2.7 interpreters, in the order they are tried. */
function candidates(): string[] {
  const own = Deno.env.get("FERRY_PYTHON2");
  if (own) return [own]; // a chosen interpreter is the only one tried
  const found = ["python2.7", "python2"];
  const home = Deno.env.get("HOME");
  const pyenv = Deno.env.get("PYENV_ROOT") ?? (home && `${home}/.pyenv`);
  try {
    const versions = [...Deno.readDirSync(`${pyenv}/versions`)]
      .map((entry) => entry.name)
      .filter((name) => /^2\.7(\.\d+)?$/.test(name))
      .sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
    for (const name of versions) found.push(`${pyenv}/versions/${name}/bin/python`);
  } catch {
    // no pyenv
  }
  return found;
}

/** The first candidate that really is Python 2.7 (pyenv shims may only say they are). */
async function python27(): Promise<{ path: string; version: string }> {
  const tried = candidates();
  for (const program of tried) {
    const out = await run(program, ["-c", "import sys; print(sys.executable); print(sys.version)"]);
    if (!out?.success) continue;
    const [path, version] = new TextDecoder().decode(out.stdout).split("\n");
    if (version?.startsWith("2.7.")) return { path, version: version.split(" ")[0] };
  }
  throw new Error(`no Python 2.7 found (tried ${tried.join(", ")}). ${FIX}`);
}

/**
 * The `wstest` program of the cached virtualenv, building it first when it is
 * missing or was built from other pins or another interpreter.
 */
export async function wstest(): Promise<string> {
  const root = cacheRoot();
  if (!root) throw new Error("no cache directory for the Autobahn virtualenv: set FERRY_CACHE_DIR");
  const dir = `${root}/autobahn`;
  const venv = `${dir}/venv`;
  const program = `${venv}/bin/wstest`;
  const python = await python27();
  const stamp = [python.path, python.version, ...BOOTSTRAP, ...REQUIREMENTS].join("\n") + "\n";
  const stampFile = `${venv}/.ferry-stamp`;
  try {
    if (Deno.readTextFileSync(stampFile) === stamp) return program;
  } catch {
    // not built yet
  }

  console.error(`autobahn: building ${venv} with Python ${python.version} (once, about a minute)…`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  Deno.mkdirSync(dir, { recursive: true });
  const quiet = ["--disable-pip-version-check", "--no-input", "-q"];
  const bootstrap = `${dir}/bootstrap`;
  const pip = await run(python.path, ["-m", "pip", "--version"]);
  if (!pip?.success) {
    throw new Error(`${python.path} has no pip; install pip for Python 2.7. ${FIX}`);
  }
  const steps: [string, string, string[], Record<string, string>?][] = [
    ["installing virtualenv", python.path, [
      "-m",
      "pip",
      "install",
      ...quiet,
      "--target",
      bootstrap,
      ...BOOTSTRAP,
    ]],
    ["creating the virtualenv", python.path, ["-m", "virtualenv", "-q", venv], {
      PYTHONPATH: bootstrap,
    }],
    ["installing autobahntestsuite", `${venv}/bin/python`, [
      "-m",
      "pip",
      "install",
      ...quiet,
      ...REQUIREMENTS,
    ]],
    ["running wstest", program, ["--help"]],
  ];
  for (const [step, cmd, args, env] of steps) {
    const out = await run(cmd, args, env);
    if (!out) throw new Error(`${step}: ${cmd} not found`);
    if (!out.success) fail(step, out);
  }
  Deno.writeTextFileSync(stampFile, stamp);
  return program;
}

/**
 * `npm run doctor`: checks what the notebooks and runs need and says, for each problem, how to fix it.
 *
 *   node          Node.js version against package.json's engines (≥ 20)
 *   node_modules  installed and matching package-lock.json (scripts/setup.sh's stamp), tslab and tfjs resolvable
 *   kernel        .jupyter/kernels/tslab (the project's kernelspec) and the launcher it runs
 *   jupyter       the Python that runs notebooks ($IFSQ_PYTHON, default /usr/bin/python3) with nbclient, nbconvert,
 *                 jupyter_client, and that Jupyter finding the project's kernelspec through JUPYTER_PATH
 *   data          Fashion-MNIST (lib/data's own search: $IFSQ_DATA_DIR, data/fashion-mnist, the Debian package)
 *   engine        every TensorFlow.js engine (lib/backend.ts engineStatus): available or why not, which is active
 *   slurm         sbatch/squeue/scancel/sinfo for `npm run sweep -- --slurm` (optional)
 *   disk          free space where runs are written (lib/train/run defaultRunsDir)
 *   front end     Jupyter UI (npm run lab) and Chromium (npm run figures, the browser test) (optional)
 * Each line: `ok`, `warn` (optional part missing) or `FAIL` (the main job — npm run reproduce — cannot work), with a
 * `fix:` line under each warn/FAIL. Exit status 1 when any check fails.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { engineStatus, type EngineStatus } from "../lib/backend";
import { fashionMnistDir } from "../lib/data/fashion-mnist";
import { defaultRunsDir } from "../lib/train/run";

const ROOT = path.resolve(__dirname, "..");

export type Level = "ok" | "warn" | "fail";
export interface Check {
  name: string;
  level: Level;
  detail: string;
  /** What to do about a warn/fail. */
  fix?: string;
}

const ok = (name: string, detail: string): Check => ({ name, level: "ok", detail });

/** Node.js version ≥ the major in package.json's `engines.node` (">=20"). */
export function checkNode(version: string = process.versions.node, root = ROOT): Check {
  const want = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { engines?: { node?: string } }).engines?.node ?? ">=20";
  const min = Number(/>=\s*(\d+)/.exec(want)?.[1] ?? 20);
  const major = Number(version.split(".")[0]);
  if (major >= min) return ok("node", `Node.js ${version} (package.json wants ${want})`);
  return { name: "node", level: "fail", detail: `Node.js ${version}; package.json wants ${want}`, fix: `install Node.js ${min} or newer (e.g. from nodejs.org or your distribution), then npm ci` };
}

/** node_modules present, installed from the current package-lock.json (setup.sh's stamp), key packages resolvable. */
export function checkNodeModules(root = ROOT): Check {
  const name = "node_modules";
  const nm = path.join(root, "node_modules");
  if (!fs.existsSync(path.join(nm, ".package-lock.json"))) {
    return { name, level: "fail", detail: `${nm} is missing or was not installed by npm`, fix: "npm run setup (runs npm ci)" };
  }
  const lock = crypto.createHash("sha256").update(fs.readFileSync(path.join(root, "package-lock.json"))).digest("hex");
  const stampFile = path.join(nm, ".ifsq-lock.sha256");
  const stamp = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, "utf8").trim() : null;
  if (stamp !== null && stamp !== lock) {
    return { name, level: "fail", detail: "node_modules was installed from a different package-lock.json (it changed since)", fix: "npm run setup (runs npm ci)" };
  }
  const missing = ["tslab", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "plotly.js-dist-min", "zod"].filter((p) => {
    try {
      require.resolve(`${p}/package.json`, { paths: [root] });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) return { name, level: "fail", detail: `packages missing from node_modules: ${missing.join(", ")}`, fix: "npm ci" };
  return ok(name, `installed${stamp === null ? " (no setup stamp yet: run npm run setup once)" : " from the current package-lock.json"}`);
}

/** The project's kernelspec and the launcher its argv names. */
export function checkKernelspec(root = ROOT): Check {
  const name = "kernel";
  const dir = path.join(root, ".jupyter", "kernels", "tslab");
  const file = path.join(dir, "kernel.json");
  if (!fs.existsSync(file)) return { name, level: "fail", detail: `${file} is missing`, fix: "git checkout -- .jupyter (the kernelspec is part of the repository)" };
  let argv: string[];
  try {
    argv = (JSON.parse(fs.readFileSync(file, "utf8")) as { argv: string[] }).argv;
  } catch (e) {
    return { name, level: "fail", detail: `${file} is not valid JSON: ${(e as Error).message}`, fix: "git checkout -- .jupyter/kernels/tslab/kernel.json" };
  }
  const launcher = argv.map((a) => a.replace("{resource_dir}", dir)).find((a) => a.endsWith(".js") || a.includes("tslab/bin"));
  if (!launcher || !fs.existsSync(launcher)) return { name, level: "fail", detail: `the kernelspec runs ${launcher ?? "(no script in argv)"}, which does not exist`, fix: "npm run setup; git checkout -- scripts/tslab-kernel.js" };
  return ok(name, `${path.relative(root, dir)} runs ${path.relative(root, path.resolve(launcher))}`);
}

/** The Python that runs notebooks has Jupyter's packages, and its Jupyter finds the project's kernelspec. */
export function checkJupyter(py: string = process.env.IFSQ_PYTHON || "/usr/bin/python3", root = ROOT): Check {
  const name = "jupyter";
  const fix = "Debian/Ubuntu: npm run setup as root (apt-get install --no-install-recommends jupyter-nbconvert python3-nbclient jupyter-client); " +
    "elsewhere: python3 -m pip install nbclient nbconvert jupyter_client and export IFSQ_PYTHON=$(command -v python3)";
  if (!fs.existsSync(py)) return { name, level: "fail", detail: `${py} does not exist`, fix };
  const env = { ...process.env, JUPYTER_PATH: [path.join(root, ".jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter), PYDEVD_DISABLE_FILE_VALIDATION: "1" };
  let versions: string;
  try {
    versions = execFileSync(py, ["-c", "import jupyter_client, nbclient, nbconvert; print(jupyter_client.__version__, nbclient.__version__, nbconvert.__version__)"], { env, stdio: "pipe" }).toString().trim();
  } catch (e) {
    const err = ((e as { stderr?: Buffer }).stderr?.toString() ?? "").trim().split("\n").pop();
    return { name, level: "fail", detail: `${py} lacks Jupyter's packages (${err})`, fix };
  }
  let specs: Record<string, { resource_dir: string }>;
  try {
    specs = (JSON.parse(execFileSync(py, ["-m", "jupyter", "kernelspec", "list", "--json"], { env, stdio: "pipe" }).toString()) as { kernelspecs: Record<string, { resource_dir: string }> }).kernelspecs;
  } catch (e) {
    return { name, level: "fail", detail: `${py} -m jupyter kernelspec list failed: ${(e as Error).message.split("\n")[0]}`, fix: "apt-get install --no-install-recommends jupyter-client (the jupyter command)" };
  }
  const want = path.join(root, ".jupyter", "kernels", "tslab");
  const got = specs.tslab?.resource_dir;
  const [jc, nc, nv] = versions.split(" ");
  if (!got || path.resolve(got) !== want) {
    return { name, level: "fail", detail: `Jupyter under ${py} resolves kernel "tslab" to ${got ?? "nothing"}, not ${want}`, fix: `run notebooks through npm scripts (they set JUPYTER_PATH=${path.join(root, ".jupyter")}); remove other kernels named tslab that come first (jupyter kernelspec remove tslab)` };
  }
  return ok(name, `${py}: jupyter_client ${jc}, nbclient ${nc}, nbconvert ${nv}; kernel "tslab" → ${path.relative(root, got)}`);
}

/** Fashion-MNIST, found by lib/data's own search. */
export function checkData(find: () => string = () => fashionMnistDir()): Check {
  try {
    return ok("data", `Fashion-MNIST in ${find()}`);
  } catch (e) {
    return { name: "data", level: "fail", detail: (e as Error).message.split(". ")[0], fix: "Debian/Ubuntu: npm run setup as root (apt-get install dataset-fashion-mnist); elsewhere put the four .gz files from github.com/zalandoresearch/fashion-mnist (data/fashion) into data/fashion-mnist/" };
  }
}

/** One line per engine of lib/backend.ts; FAIL only when none is available or $IFSQ_BACKEND names an unavailable one. */
export function engineChecks(engines: EngineStatus[], error: string | null = null): Check[] {
  const fixes: Record<string, string> = {
    "tensorflow-gpu": "optional: npm i @tensorflow/tfjs-node-gpu (needs CUDA and network access to Google storage)",
    tensorflow: "optional: npm i @tensorflow/tfjs-node (its install downloads libtensorflow from Google storage)",
    wasm: "npm ci (reinstalls @tensorflow/tfjs-backend-wasm)",
  };
  const out: Check[] = engines.map((e) => e.available
    ? ok(`engine ${e.name}`, e.active ? "available, ACTIVE (what notebooks and runs use)" : "available")
    : { name: `engine ${e.name}`, level: "warn", detail: `not available: ${e.why}`, fix: fixes[e.name] ?? "see lib/backend.ts" });
  if (error) out.push({ name: "engine", level: "fail", detail: error, fix: "unset IFSQ_BACKEND or set it to an available engine" });
  else if (!engines.some((e) => e.available)) out.push({ name: "engine", level: "fail", detail: "no TensorFlow.js engine initialises", fix: "npm ci" });
  return out;
}

/** The Slurm client commands `npm run sweep -- --slurm` uses (optional). */
export function checkSlurm(pathEnv: string = process.env.PATH ?? ""): Check {
  const cmds = ["sbatch", "squeue", "scancel", "sinfo"];
  const missing = cmds.filter((c) => !pathEnv.split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, c))));
  if (missing.length === 0) return ok("slurm", `${cmds.join(", ")} on PATH`);
  return { name: "slurm", level: "warn", detail: `not on PATH: ${missing.join(", ")} (only sweeps on a Slurm cluster need them)`, fix: "Debian/Ubuntu: apt-get install slurm-client (a one-node test cluster: IFSQ_WITH_SLURM=1 npm run setup)" };
}

/** Free space in the runs folder (or its nearest existing parent): FAIL under 1 GiB, warn under 5 GiB. */
export function checkDisk(dir: string = defaultRunsDir(), freeBytes?: number): Check {
  let at = path.resolve(dir);
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  const free = freeBytes ?? (() => {
    const s = fs.statfsSync(at);
    return s.bavail * s.bsize;
  })();
  const gib = free / 2 ** 30;
  const detail = `${gib.toFixed(1)} GiB free at ${at} (runs go to ${dir})`;
  const fix = "free space there, or point IFSQ_RUNS_DIR at a disk with room";
  if (gib < 1) return { name: "disk", level: "fail", detail, fix };
  if (gib < 5) return { name: "disk", level: "warn", detail: `${detail}; a paper-cpu reproduce writes a few GiB`, fix };
  return ok("disk", detail);
}

/** The optional front ends: a Jupyter UI for npm run lab, Chromium for figures and the browser test. */
export function checkFrontEnds(pathEnv: string = process.env.PATH ?? ""): Check[] {
  const onPath = (c: string) => pathEnv.split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, c)));
  const ui = onPath("jupyter-lab") ? "JupyterLab" : fs.existsSync("/usr/bin/jupyter-notebook") ? "classic Notebook" : null;
  const chrome = process.env.IFSQ_CHROMIUM || "/usr/bin/chromium";
  return [
    ui ? ok("front end", `${ui} (npm run lab)`) : { name: "front end", level: "warn", detail: "no Jupyter UI for npm run lab (headless runs do not need one)", fix: "apt-get install --no-install-recommends jupyter-notebook, or python3 -m pip install jupyterlab" },
    fs.existsSync(chrome) ? ok("chromium", `${chrome} (npm run figures, test/browser.test.ts)`) : { name: "chromium", level: "warn", detail: `${chrome} not found (PNG/SVG export and the browser test need it)`, fix: "apt-get install --no-install-recommends chromium, or set IFSQ_CHROMIUM=/path/to/chrome" },
  ];
}

/** All checks. */
export async function runChecks(): Promise<Check[]> {
  const checks: Check[] = [checkNode(), checkNodeModules(), checkKernelspec(), checkJupyter(), checkData()];
  try {
    checks.push(...engineChecks(await engineStatus()));
  } catch (e) {
    checks.push(...engineChecks((e as { engines?: EngineStatus[] }).engines ?? [], (e as Error).message));
  }
  checks.push(checkSlurm(), checkDisk(), ...checkFrontEnds());
  return checks;
}

/** The report: one line per check, a `fix:` line under each warn/FAIL, then a summary line. */
export function formatReport(checks: Check[]): string {
  const tag: Record<Level, string> = { ok: "ok  ", warn: "warn", fail: "FAIL" };
  const lines = checks.flatMap((c) => [`${tag[c.level]} ${c.name}: ${c.detail}`, ...(c.level !== "ok" && c.fix ? [`     fix: ${c.fix}`] : [])]);
  const fails = checks.filter((c) => c.level === "fail").length;
  const warns = checks.filter((c) => c.level === "warn").length;
  lines.push(fails ? `doctor: ${fails} problem(s) stop the notebooks or runs; fix the FAIL lines above` : `doctor: ready${warns ? ` (${warns} optional part(s) missing)` : ""}`);
  return lines.join("\n");
}

if (require.main === module) {
  runChecks().then(
    (checks) => {
      console.log(formatReport(checks));
      process.exit(checks.some((c) => c.level === "fail") ? 1 : 0);
    },
    (e) => {
      console.error(`doctor: ${(e as Error).stack ?? e}`);
      process.exit(1);
    },
  );
}

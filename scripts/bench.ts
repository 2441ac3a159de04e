/**
 * Training-speed benchmark (issue 8): the fixed workloads A (conv FSQ autoencoder), B (GPT) and C (DiT) of
 * bench/workloads.ts, per backend, plus the project's own tokenizer / LlamaGen / DiT at their quick presets and
 * their sampling throughput; optionally PyTorch on the same workloads (bench/torch_reference.py).
 *
 *   npm run bench                                   native (BLAS kernels, when built) and wasm, each in 1 process and on 2
 *                                                   data-parallel workers; models; sampling (a few minutes)
 *   npm run bench -- --vs-torch                     + PyTorch (Debian python3-torch, 1 and 2 threads): ours / torch best
 *   npm run bench -- --workloads B --backends wasm --steps 200     the 200-step tensor-count check
 *   npm run bench -- --profile A                    per-kernel profile of one training step of A on wasm
 *   options: --workloads A,B,C  --backends native,native-dp2,wasm,wasm-dp2,cpu  --batch 64  --steps 20  --warmup 3  --no-models
 *            --json FILE  --torch-threads 1,2  --python /usr/bin/python3  --sample-n 32  --profile-top 25
 *            --runs-dir DIR (whose finished runs give the evaluation-share table; default data/runs)
 *   npm run bench -- --trainers all --runs-dir DIR --workloads "" --no-models
 *                                                   the project's trainers on real data, 1 process vs 2 workers (the
 *                                                   generators need DIR to hold the quick tokenizer run: reproduce first)
 *
 * Columns: median and min ms per training step (forward + backward + Adam) after warm-up; units/s (images, tokens
 * predicted, latents); GFLOP/s from the documented FLOP count (2 × MAC of matmuls and convs, training = 3 × forward,
 * see bench/workloads.ts); peak RSS of the process (each row runs in its own child process; DP rows include the
 * workers); the wasm heap (DP: the largest worker heap); tensor counts after the first and after the last step
 * (must be equal). `cpu` (pure-JS tfjs) takes 30–55 s per step at batch 64, so it is opt-in.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { loadNativeAddon } from "../lib/native-engine";
import { defaultRunsDir } from "../lib/train/run";
import { evalShares } from "../lib/experiments/eval-share";
import { WORKLOADS, makeWorkload, type WorkloadName } from "../bench/workloads";
import { measureTraining, measureForward, profileStep, round1, type BenchRow } from "../bench/measure";

const ROW_TAG = "BENCH_ROW ";
const ROOT = path.resolve(__dirname, "..");

interface ChildJob {
  kind: "workload" | "model" | "sample" | "profile" | "trainer";
  name: string;
  backend: string;
  batch: number;
  steps: number;
  warmup: number;
  sampleN: number;
  top: number;
  /** "trainer" jobs: the runs folder their tasks read (tokenizer runs and token caches of the generators) */
  runsDir?: string;
}

/**
 * The project's trainers as `npm run reproduce` runs them at quick (real data; generators on the quick tokenizer run
 * found in the runs folder): name → kind and config. `bits-tokenizer` is the bits grid's small tokenizer.
 */
const TRAINERS: Record<string, { kind: string; preset: string; overrides?: Record<string, unknown> }> = {
  tokenizer: { kind: "tokenizer", preset: "quick" },
  "bits-tokenizer": { kind: "tokenizer", preset: "quick", overrides: { levels: [17, 17, 17, 17] } },
  featurenet: { kind: "featurenet", preset: "paper-cpu" },
  ar: { kind: "ar", preset: "quick" },
  dit: { kind: "dit", preset: "quick" },
};

function backendOf(label: string): { engine: "native" | "wasm" | "cpu"; workers: number } {
  const m = /^(native|wasm|cpu)(?:-dp(\d+))?$/.exec(label);
  if (!m) throw new Error(`--backends: "${label}" is not a backend; expected native, wasm, cpu, wasm-dp2 (N data-parallel wasm workers: wasm-dpN), native-dpN or cpu-dpN`);
  return { engine: m[1] as "native" | "wasm" | "cpu", workers: m[2] ? Number(m[2]) : 0 };
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one measurement in this process

async function child(job: ChildJob): Promise<void> {
  const { engine, workers } = backendOf(job.backend);
  await initBackend(engine, { log: () => {} });
  const emit = (row: Record<string, unknown>) => process.stdout.write(ROW_TAG + JSON.stringify(row) + "\n");
  if (job.kind === "workload" || (job.kind === "profile" && WORKLOADS.includes(job.name as WorkloadName))) {
    const task = makeWorkload(job.name as WorkloadName, "quick", { batchSize: job.batch });
    const info = { workload: job.name, unit: task.unit, unitsPerSample: task.unitsPerSample, batchSize: job.batch };
    if (job.kind === "profile") {
      const p = await profileStep(task, Math.max(1, job.warmup));
      emit({ profile: job.name, backend: job.backend, batch: job.batch, wallMs: p.wallMs, kernelMs: p.kernelMs, gflopPerStep: (task.flopsPerStep ?? 0) / 1e9, kernels: p.kernels.slice(0, job.top), byShape: p.byShape.slice(0, job.top) });
      return;
    }
    const row = await measureTraining(task, info, { steps: job.steps, warmup: job.warmup, backend: job.backend, dpWorkers: workers, dpKindsModule: require.resolve("../bench/workloads") });
    if (!workers) row.forwardMs = await measureForward(task, (b) => task.forward(b), 3);
    task.dispose();
    emit(row);
    return;
  }
  if (job.kind === "trainer") {
    const { runEnv } = await import("../lib/experiments/kinds");
    const { resolveConfig } = await import("../lib/train/config");
    const { lookupKind } = await import("../lib/train/registry");
    const t = TRAINERS[job.name];
    if (!t) throw new Error(`--trainers: "${job.name}" is not a trainer; expected ${Object.keys(TRAINERS).join(", ")}`);
    const env = runEnv({ runsDir: job.runsDir, log: () => {}, progress: false });
    const spec = lookupKind(env.kinds, t.kind);
    let overrides = t.overrides;
    if (job.name === "bits-tokenizer") overrides = { ...(await import("../lib/experiments/bits/grid")).BITS_GRID.quick.tokenizer, ...overrides };
    const task = await spec.makeTask(resolveConfig(spec.configDef, { preset: t.preset as "quick", overrides }) as never);
    try {
      const row = await measureTraining(task, { workload: `${job.name}(${t.preset})`, unit: "samples", unitsPerSample: 1, batchSize: task.config.batchSize }, { steps: job.steps, warmup: job.warmup, backend: job.backend, dpWorkers: workers, dpKindsModule: env.kindsModule, dpRunsDir: env.runsDir });
      emit(row);
    } finally {
      (task as { dispose?(): void }).dispose?.();
    }
    return;
  }
  const { makeModelBench } = await import("../bench/models");
  const m = makeModelBench(job.name as "tokenizer" | "ar" | "dit", "quick", job.sampleN);
  try {
    if (job.kind === "sample") {
      if (!m.sample) throw new Error(`${job.name} has no sampler`);
      await m.sample.run(); // warm-up (operator creation)
      const t0 = performance.now();
      await m.sample.run();
      const s = (performance.now() - t0) / 1000;
      emit({ workload: `${job.name}-sample`, backend: job.backend, what: m.sample.what, samples: m.sample.n, seconds: round1(s * 10) / 10, samplesPerSec: round1(m.sample.n / s), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) });
      return;
    }
    if (job.kind === "profile") {
      const p = await profileStep(m.task, Math.max(1, job.warmup));
      emit({ profile: job.name, backend: job.backend, batch: m.batchSize, wallMs: p.wallMs, kernelMs: p.kernelMs, gflopPerStep: (m.task.flopsPerStep ?? 0) / 1e9, kernels: p.kernels.slice(0, job.top), byShape: p.byShape.slice(0, job.top) });
      return;
    }
    const row = await measureTraining(m.task, { workload: `${job.name}(quick)`, unit: m.unit, unitsPerSample: m.unitsPerSample, batchSize: m.batchSize }, { steps: job.steps, warmup: job.warmup, backend: job.backend });
    emit(row);
  } finally {
    m.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: spawn children, collect rows, print tables

function runChild(job: ChildJob): Record<string, unknown>[] | { error: string } {
  const args = [...process.execArgv, __filename, "--child", JSON.stringify(job)];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"] });
  const rows = (r.stdout ?? "")
    .split("\n")
    .filter((l) => l.startsWith(ROW_TAG))
    .map((l) => JSON.parse(l.slice(ROW_TAG.length)) as Record<string, unknown>);
  if (r.status !== 0 || rows.length === 0) {
    const err = (r.stderr ?? "").trim().split("\n").filter((l) => l.trim()).slice(-3).join(" | ");
    return { error: `exit ${r.status ?? r.signal}: ${err.slice(0, 400)}` };
  }
  return rows;
}

function runTorch(python: string, w: string, threads: number, batch: number, steps: number, warmup: number): Record<string, unknown> | { error: string } {
  const script = path.join(ROOT, "bench", "torch_reference.py");
  // thread pools pinned to `threads`, glibc keeps freed blocks (see bench/torch_reference.py: torch_env)
  const env = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
    MALLOC_MMAP_THRESHOLD_: "4294967296",
    MALLOC_TRIM_THRESHOLD_: "4294967296",
    MALLOC_TOP_PAD_: "536870912",
  };
  const r = spawnSync(python, [script, "--workload", w, "--threads", String(threads), "--batch", String(batch), "--steps", String(steps), "--warmup", String(warmup)], { encoding: "utf8", maxBuffer: 16 << 20, env });
  if (r.status !== 0) return { error: `torch ${w} t${threads}: exit ${r.status}: ${(r.stderr ?? "").trim().split("\n").slice(-2).join(" | ")}` };
  const line = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  const row = JSON.parse(line) as Record<string, unknown>;
  for (const k of ["msPerStep", "msMin", "cpuMsPerStep", "unitsPerSec", "gflops", "peakRssMB", "gflopPerStep"]) if (typeof row[k] === "number") row[k] = Math.round((row[k] as number) * 1000) / 1000;
  return row;
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-US") : v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(v >= 10 ? 1 : 2);
  return String(v);
}

function printTable(rows: Record<string, unknown>[], cols: [string, string][]): void {
  const cells = rows.map((r) => cols.map(([k]) => fmt(r[k])));
  const widths = cols.map(([, h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  // text columns left-aligned, numeric ones right-aligned
  const numeric = cols.map(([k]) => rows.some((r) => typeof r[k] === "number") && rows.every((r) => r[k] === undefined || r[k] === null || typeof r[k] === "number"));
  const line = (c: string[]) => "| " + c.map((x, i) => (numeric[i] ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join(" | ") + " |";
  console.log(line(cols.map(([, h]) => h)));
  console.log("|" + widths.map((w, i) => (numeric[i] ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|") + "|");
  for (const c of cells) console.log(line(c));
}

function printProfile(p: Record<string, unknown>): void {
  console.log(`\nprofile ${p.profile} on ${p.backend}, batch ${p.batch}: step ${fmt(p.wallMs)} ms wall, ${fmt(p.kernelMs)} CPU ms in kernels, ${fmt(p.gflopPerStep)} GFLOP`);
  printTable(p.kernels as Record<string, unknown>[], [["kernel", "kernel"], ["calls", "calls"], ["ms", "ms"], ["share", "share"]]);
  console.log("\nby kernel and shape:");
  printTable(p.byShape as Record<string, unknown>[], [["kernel", "kernel [inputs]→[output]"], ["calls", "calls"], ["ms", "ms"], ["share", "share"]]);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      child: { type: "string" },
      workloads: { type: "string", default: "A,B,C" },
      backends: { type: "string", default: "reason" in loadNativeAddon() ? "wasm,wasm-dp2" : "native,native-dp2,wasm,wasm-dp2" },
      batch: { type: "string", default: "64" },
      steps: { type: "string", default: "20" },
      warmup: { type: "string", default: "3" },
      "vs-torch": { type: "boolean", default: false },
      "torch-threads": { type: "string", default: "1,2" },
      python: { type: "string", default: "/usr/bin/python3" },
      "no-models": { type: "boolean", default: false },
      "sample-n": { type: "string", default: "32" },
      json: { type: "string" },
      profile: { type: "string" },
      "profile-top": { type: "string", default: "25" },
      "runs-dir": { type: "string" },
      trainers: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(fs.readFileSync(__filename, "utf8").split("*/")[0].replace(/^\/\*\*|^ \* ?/gm, ""));
    return 0;
  }
  const int = (k: string, v: string, min = 1) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${k}=${v} must be an integer ≥ ${min}`);
    return n;
  };
  const batch = int("batch", values.batch!);
  const steps = int("steps", values.steps!);
  const warmup = int("warmup", values.warmup!, 0);
  const sampleN = int("sample-n", values["sample-n"]!);
  const top = int("profile-top", values["profile-top"]!);
  if (values.child) {
    await child(JSON.parse(values.child) as ChildJob);
    return 0;
  }
  const workloads = values.workloads!.split(",").filter(Boolean).map((w) => w.trim().toUpperCase());
  for (const w of workloads) if (!WORKLOADS.includes(w as WorkloadName)) throw new Error(`--workloads: "${w}" is not a workload; expected A, B, C`);
  const backends = values.backends!.split(",").filter(Boolean);
  backends.forEach(backendOf);
  const load = () => os.loadavg().map((x) => x.toFixed(1)).join(" ");
  console.log(`bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), node ${process.version}, tfjs ${tf.version.tfjs}; load average ${load()}`);

  if (values.profile) {
    for (const name of values.profile.split(",")) {
      const backend = backends.find((b) => !b.includes("-dp")) ?? "wasm";
      const res = runChild({ kind: "profile", name: name.trim(), backend, batch, steps, warmup: Math.max(1, warmup), sampleN, top });
      if ("error" in res) console.log(`profile ${name}: FAILED ${res.error}`);
      else res.forEach(printProfile);
    }
    return 0;
  }

  const rows: Record<string, unknown>[] = [];
  const failures: string[] = [];
  const add = (label: string, res: Record<string, unknown>[] | { error: string }) => {
    if ("error" in res) {
      failures.push(`${label}: ${res.error}`);
      console.log(`  ${label}: FAILED ${res.error}`);
    } else {
      for (const r of res) {
        r.loadAvg1 = Number(os.loadavg()[0].toFixed(1));
        rows.push(r);
        const cpu = r.cpuMsPerStep !== undefined ? `, ${fmt(r.cpuMsPerStep)} CPU ms` : "";
        console.log(`  ${label}: ${fmt(r.msPerStep ?? r.samplesPerSec)} ${r.msPerStep !== undefined ? "ms/step" : "samples/s"}${cpu}  (load ${load()})`);
      }
    }
  };
  for (const w of workloads) {
    for (const b of backends) add(`${w} ${b}`, runChild({ kind: "workload", name: w, backend: b, batch, steps: backendOf(b).engine === "cpu" ? Math.min(steps, 3) : steps, warmup: backendOf(b).engine === "cpu" ? 1 : warmup, sampleN, top }));
  }
  if (values.trainers) {
    const runsDir = values["runs-dir"] ? path.resolve(values["runs-dir"]) : defaultRunsDir();
    const names = values.trainers === "all" ? Object.keys(TRAINERS) : values.trainers.split(",").map((s) => s.trim());
    for (const n of names) for (const b of ["wasm", "wasm-dp2"]) add(`${n} ${b}`, runChild({ kind: "trainer", name: n, backend: b, batch, steps: Math.max(3, Math.round(steps / 2)), warmup, sampleN, top, runsDir }));
  }
  if (!values["no-models"]) {
    for (const m of ["tokenizer", "ar", "dit"]) add(`${m}(quick) wasm`, runChild({ kind: "model", name: m, backend: "wasm", batch, steps: Math.max(3, Math.round(steps / 2)), warmup, sampleN, top }));
    for (const m of ["ar", "dit"]) add(`${m} sampling wasm`, runChild({ kind: "sample", name: m, backend: "wasm", batch, steps, warmup, sampleN, top }));
  }
  if (values["vs-torch"]) {
    const python = values.python!;
    const ok = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
    if (ok.status !== 0) {
      failures.push(`--vs-torch: ${python} cannot import torch (apt-get install -y --no-install-recommends python3-torch python3-numpy libopenblas0-pthread)`);
    } else {
      let blas = "";
      try {
        blas = fs.realpathSync("/usr/lib/x86_64-linux-gnu/libblas.so.3");
      } catch {
        /* not Debian's layout: no check */
      }
      if (blas && !/openblas|blis|mkl/i.test(blas)) {
        console.log(`  warning: torch's BLAS is ${blas} (the reference implementation: Linear layers ~10x slower); apt-get install -y libopenblas0-pthread`);
      }
      const threads = values["torch-threads"]!.split(",").map((t) => int("torch-threads", t.trim()));
      for (const w of workloads) for (const t of threads) {
        const r = runTorch(python, w, t, batch, steps, warmup);
        add(`${w} torch t${t}`, "error" in r ? (r as { error: string }) : [r]);
      }
    }
  }

  const train = rows.filter((r) => r.msPerStep !== undefined);
  console.log(`\nTraining step, batch ${batch} (models: their quick preset's batch); median of ${steps} steps after ${warmup} warm-up; load average at the end ${load()}\n`);
  printTable(train, [
    ["workload", "workload"],
    ["backend", "backend"],
    ["msPerStep", "ms/step"],
    ["msMin", "min ms"],
    ["cpuMsPerStep", "CPU ms"],
    ["unitsPerSec", "units/s"],
    ["unit", "unit"],
    ["gflops", "GFLOP/s"],
    ["gflopPerStep", "GFLOP/step"],
    ["peakRssMB", "peak RSS MB"],
    ["wasmHeapMB", "wasm heap MB"],
    ["tensorsAfterFirst", "tensors step 1"],
    ["tensorsAfterLast", "tensors end"],
    ["loadAvg1", "load"],
  ]);
  const dp = train.filter((r) => r.workers);
  if (dp.length) {
    console.log("\nData parallel: speed-up over the same engine in one process, and where a step's time goes (ms, medians)\n");
    const out = dp.map((r) => {
      const base = train.find((x) => x.workload === r.workload && x.backend === String(r.backend).replace(/-dp\d+$/, ""));
      return { ...r, speedup: base ? Math.round(((base.msPerStep as number) / (r.msPerStep as number)) * 100) / 100 : null };
    });
    printTable(out, [["workload", "workload"], ["backend", "backend"], ["msPerStep", "ms/step"], ["speedup", "speed-up"], ["dpWorkerMs", "slowest worker"], ["dpSyncMs", "param sync"], ["dpReduceMs", "grad average"], ["dpOptimizerMs", "Adam (main)"]]);
  }
  const fwd = train.filter((r) => r.forwardMs !== undefined);
  if (fwd.length) {
    console.log("\nForward pass only (sampling-cost proxy), same batch\n");
    printTable(fwd, [["workload", "workload"], ["backend", "backend"], ["forwardMs", "ms"]]);
  }
  const samp = rows.filter((r) => r.samplesPerSec !== undefined);
  if (samp.length) {
    console.log("\nSampling throughput (quick presets, untrained weights)\n");
    printTable(samp, [["workload", "sampler"], ["backend", "backend"], ["what", "what"], ["samples", "samples"], ["seconds", "s"], ["samplesPerSec", "samples/s"]]);
  }
  const torch = train.filter((r) => String(r.backend).startsWith("torch"));
  if (torch.length) {
    console.log("\nOurs over PyTorch's best (time ratio; lower is better; targets with both cores: B, C ≤ 1.3, A ≤ 1.5)\n");
    const out: Record<string, unknown>[] = [];
    for (const w of workloads) {
      const best = torch.filter((r) => r.workload === w).sort((a, b) => (a.msPerStep as number) - (b.msPerStep as number))[0];
      if (!best) continue;
      for (const r of train.filter((x) => x.workload === w && !String(x.backend).startsWith("torch"))) {
        out.push({ workload: w, backend: r.backend, ours: r.msPerStep, torch: best.msPerStep, torchBackend: best.backend, ratio: Math.round(((r.msPerStep as number) / (best.msPerStep as number)) * 100) / 100 });
      }
    }
    printTable(out, [["workload", "workload"], ["backend", "ours"], ["ours", "ours ms"], ["torch", "torch best ms"], ["torchBackend", "torch run"], ["ratio", "ours / torch"]]);
  }
  const mem = train.filter((r) => r.rssAfterFirstMB !== undefined);
  if (mem.length) {
    console.log("\nMemory after the first step → at the end (flat ⇔ equal; the wasm heap never shrinks)\n");
    printTable(mem, [["workload", "workload"], ["backend", "backend"], ["rssAfterFirstMB", "RSS MB step 1"], ["rssEndMB", "RSS MB end"], ["wasmHeapAfterFirstMB", "heap MB step 1"], ["wasmHeapMB", "heap MB end"], ["tensorsAfterFirst", "tensors step 1"], ["tensorsAfterLast", "tensors end"]]);
  }
  printNotebookTimings(path.join(ROOT, "build", "notebooks"));
  printEvalShares(values["runs-dir"] ? path.resolve(values["runs-dir"]) : defaultRunsDir());
  const leaks = train.filter((r) => r.tensorsAfterFirst !== undefined && r.tensorsAfterFirst !== r.tensorsAfterLast);
  if (leaks.length) console.log(`\nTENSOR LEAK: ${leaks.map((r) => `${r.workload} ${r.backend}: ${r.tensorsAfterFirst} → ${r.tensorsAfterLast}`).join("; ")}`);
  if (failures.length) console.log(`\nFailed or skipped:\n${failures.map((f) => `- ${f}`).join("\n")}`);
  if (values.json) {
    const tmp = `${values.json}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(rows, null, 2) + "\n");
    fs.renameSync(tmp, values.json);
    console.log(`\nrows → ${values.json}`);
  }
  return leaks.length ? 1 : 0;
}

/** In-run evaluation's share of wall time per kind, over the finished runs (e.g. those of the last reproduce). */
function printEvalShares(runsDir: string): void {
  const rows = evalShares(runsDir);
  if (!rows.length) {
    console.log(`\nEvaluation share: no finished runs with timed evaluations in ${runsDir}`);
    return;
  }
  console.log(`\nIn-run evaluation's share of each run's wall time, finished runs in ${runsDir} (target for the generators' gFID at quick: ≤ 15 %)\n`);
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  printTable(rows.map((r) => ({ ...r, median: pct(r.medianShare), max: `${pct(r.maxShare)} (${r.maxRun})` })), [["kind", "kind"], ["runs", "runs"], ["evals", "evaluations"], ["median", "median share"], ["max", "largest"]]);
}

/** The wall time of each notebook in its last run (`<dir>/*.timing.json`, written by scripts/run_notebooks.py). */
function printNotebookTimings(dir: string): void {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".timing.json")).sort() : [];
  if (!files.length) {
    console.log(`\nNotebooks: no timings in ${path.relative(ROOT, dir)}/ (run \`npm run reproduce\` first)`);
    return;
  }
  const rows = files.map((f) => {
    const t = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { notebook: string; preset: string; ok: boolean; seconds: number; cells: Record<string, number>; startedAt?: string; finishedAt: string; cpu: string; jobs?: number };
    const slowest = Object.entries(t.cells).sort((a, b) => b[1] - a[1])[0];
    const started = t.startedAt ?? new Date(Date.parse(t.finishedAt) - 1000 * t.seconds).toISOString().replace(/\.\d+Z$/, "Z");
    return { notebook: t.notebook, preset: t.preset, status: t.ok ? "ok" : "FAIL", seconds: t.seconds, slowest: slowest ? `cell ${slowest[0]}: ${slowest[1]} s` : "", startedAt: started, finishedAt: t.finishedAt, jobs: t.jobs ?? 1, cpu: t.cpu };
  });
  const total = rows.reduce((a, r) => a + r.seconds, 0);
  // notebooks run at the same time (--jobs N) overlap: the span from the first start to the last finish is the wall time
  const span = (Math.max(...rows.map((r) => Date.parse(r.finishedAt))) - Math.min(...rows.map((r) => Date.parse(r.startedAt)))) / 1000;
  console.log(`\nNotebooks: wall time of their last run (from ${path.relative(ROOT, dir)}/*.timing.json; ${Math.round(total)} s summed, ${Math.round(span)} s from the first start to the last finish)\n`);
  printTable(rows, [["notebook", "notebook"], ["preset", "preset"], ["status", "status"], ["seconds", "s"], ["slowest", "slowest cell"], ["startedAt", "started"], ["finishedAt", "finished"], ["jobs", "jobs"], ["cpu", "CPU"]]);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);

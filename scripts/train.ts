/**
 * Train one kind of lib/experiments/kinds.ts's registry from the command line:
 *
 *   npm run train -- <kind> [--preset tiny|quick|paper-cpu] [--set key=value ...] [--resume | --fresh]
 *                           [--runs-dir DIR] [--backend cpu|wasm] [--workers N] [--quiet]
 * --workers N: data-parallel worker threads (default: 2 on a ≥ 2-core machine for a long enough run, see
 * lib/train/workers.ts; also $IFSQ_WORKERS). The result does not depend on it.
 *   npm run train -- --list                 the kinds (tokenizer, ar, dit, featurenet, toy)
 *   npm run train -- <kind> --help          the kind's config keys with their preset values
 *
 * The run folder is `<runs-dir>/<kind>-<confighash12>/` (default runs dir: data/runs). If it already holds
 * checkpoints of an unfinished run, pass --resume to continue it or --fresh to discard it; a finished run (done.json
 * and an intact final checkpoint) is reported and not retrained. A run marked finished whose final checkpoint is
 * missing or damaged is an error unless --resume (train again from the newest intact checkpoint) or --fresh.
 */
import * as fs from "fs";
import { parseArgs } from "util";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { configHelp, defaultPreset, resolveConfig } from "../lib/train/config";
import { lookupKind } from "../lib/train/registry";
import { Run } from "../lib/train/run";
import { newestCheckpoint } from "../lib/train/checkpoint";
import { trainWithWorkers } from "../lib/train/workers";
import { runEnv } from "../lib/experiments/kinds";

const USAGE = `usage: npm run train -- <kind> [--preset tiny|quick|paper-cpu] [--set key=value ...] [--resume | --fresh] [--runs-dir DIR] [--backend cpu|wasm] [--workers N] [--quiet]
       npm run train -- --list
       npm run train -- <kind> --help`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      preset: { type: "string" },
      set: { type: "string", multiple: true },
      resume: { type: "boolean" },
      fresh: { type: "boolean" },
      "runs-dir": { type: "string" },
      backend: { type: "string" },
      workers: { type: "string" },
      quiet: { type: "boolean" },
      list: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const env = runEnv({ runsDir: values["runs-dir"], progress: values.quiet ? "none" : undefined });
  if (values.list) {
    for (const [k, spec] of env.kinds) console.log(`${k}\t${spec.description ?? ""}`);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`${USAGE}\nknown kinds: ${[...env.kinds.keys()].join(", ")}`);
    return values.help ? 0 : 2;
  }
  const kind = lookupKind(env.kinds, positionals[0]);
  if (values.help) {
    console.log(`${USAGE}\n\n${configHelp(kind.configDef)}`);
    return 0;
  }
  if (values.resume && values.fresh) throw new Error("--resume and --fresh exclude each other");
  const preset = values.preset ?? defaultPreset();
  const config = resolveConfig(kind.configDef, { preset, set: values.set ?? [] }) as Record<string, unknown>;
  const runsDir = env.runsDir;
  const run = Run.locate(positionals[0], config, runsDir);
  const ck = newestCheckpoint(run.checkpointsDir);
  if (!values.fresh) {
    if (fs.existsSync(run.configPath)) run.readConfigFile(); // a damaged config.json is refused here as by sweeps and notebooks
    const st = run.finishedState();
    if (st.state === "finished") {
      console.log(`${positionals[0]}: already finished (final checkpoint ${st.checkpoint} verified) → ${run.dir} (pass --fresh to retrain)`);
      return 0;
    }
    if (st.state === "broken" && !values.resume) {
      throw new Error(`${st.problem}. Pass --resume to train again from the newest intact checkpoint (damaged ones are set aside), or --fresh to start over`);
    }
  }
  if (ck && !values.resume && !values.fresh) {
    throw new Error(`${run.dir} holds a checkpoint at step ${ck.step} of an unfinished run; pass --resume to continue it or --fresh to start over`);
  }
  await initBackend(values.backend);
  console.log(`${positionals[0]}: preset ${preset}${values.set?.length ? `, --set ${values.set.join(" ")}` : ""} → ${run.dir}`);
  const task = await kind.makeTask(config);
  const t0 = Date.now();
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) throw new Error(`--workers ${values.workers}: expected a positive integer`);
  const res = await trainWithWorkers(task, { runsDir, resume: !values.fresh, progress: values.quiet ? "none" : undefined, workers, kindsModule: env.kindsModule, dataParallel: kind.dataParallel });
  const last = [...res.metrics].reverse().find((r) => r.type === "train");
  const lastEval = [...res.metrics].reverse().find((r) => r.type === "eval");
  const fmt = (r: Record<string, unknown> | undefined) =>
    r ? Object.entries(r).filter(([k]) => k !== "type").map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toPrecision(5)) : v}`).join(" ") : "-";
  console.log(`final train: ${fmt(last)}`);
  if (lastEval) console.log(`final eval:  ${fmt(lastEval)}`);
  console.log(`${res.step} steps, session wall ${((Date.now() - t0) / 1000).toFixed(1)} s, backend ${tf.getBackend()}, weights ${res.weights}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
  },
);

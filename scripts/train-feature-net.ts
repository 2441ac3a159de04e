/**
 * Trains (or reports the finished run of) the frozen feature network of the metrics, the `featurenet` kind:
 *
 *   npx tsx scripts/train-feature-net.ts [--net full|tiny] [--backend wasm|cpu] [--runs-dir DIR] [--embed-test]
 *
 * "full" is the kind's paper-cpu preset (every reported gFID uses it), "tiny" its test-only tiny preset; the same
 * run is `npm run train -- featurenet --preset paper-cpu`. The run folder is reused by every later evaluation;
 * --embed-test also computes and caches the test-set reference embedding in it.
 */
import { parseArgs } from "util";
import { initBackend } from "../lib/backend";
import { runEnv } from "../lib/experiments/kinds";
import { FEATURE_NET_PRESET, type FeatureNetName } from "../lib/experiments/featurenet/config";
import { extractorOf, loadFeatureNet } from "../lib/experiments/featurenet/task";
import { testSetEmbedding } from "../lib/eval/features";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      net: { type: "string", default: "full" },
      backend: { type: "string" },
      "runs-dir": { type: "string" },
      "embed-test": { type: "boolean" },
    },
  });
  const name = values.net as FeatureNetName;
  if (!(name in FEATURE_NET_PRESET)) {
    console.error(`--net ${name} is unknown; expected one of: ${Object.keys(FEATURE_NET_PRESET).join(", ")}`);
    return 2;
  }
  await initBackend(values.backend ?? "wasm");
  const env = runEnv({ runsDir: values["runs-dir"] });
  const fn = await loadFeatureNet(env, name);
  console.log(`feature net "${name}" (${fn.runId}): test accuracy ${(100 * fn.testAccuracy).toFixed(2)} %, ${fn.net.params.count()} parameters, ${fn.dir}`);
  if (values["embed-test"]) {
    const t = Date.now();
    const e = testSetEmbedding({ extractor: extractorOf(fn), cacheDir: fn.dir });
    console.log(`test-set embedding: ${e.n} × ${e.d} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);

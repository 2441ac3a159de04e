/**
 * Trains (or reports the cached) frozen feature network of the metrics:
 *
 *   npx tsx scripts/train-feature-net.ts [--preset full|tiny] [--backend wasm|cpu] [--retrain] [--embed-test]
 *
 * The weights go to data/feature-net/<preset>-<hash>/ (atomic write) and are reused by every later evaluation.
 * --retrain deletes that folder first; --embed-test also computes and caches the test-set reference embedding.
 */
import { parseArgs } from "util";
import * as fs from "fs";
import { initBackend } from "../lib/backend";
import { FEATURE_NET_PRESETS, featureNetDir, loadOrTrainFeatureNet } from "../lib/eval/feature-net";
import type { FeatureNetPreset } from "../lib/eval/feature-net";
import { testSetEmbedding } from "../lib/eval/features";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      preset: { type: "string", default: "full" },
      backend: { type: "string" },
      retrain: { type: "boolean" },
      "embed-test": { type: "boolean" },
    },
  });
  const preset = values.preset as FeatureNetPreset;
  if (!(preset in FEATURE_NET_PRESETS)) {
    console.error(`--preset ${preset} is unknown; expected one of: ${Object.keys(FEATURE_NET_PRESETS).join(", ")}`);
    return 2;
  }
  await initBackend(values.backend ?? "wasm");
  const dir = featureNetDir(preset, FEATURE_NET_PRESETS[preset]);
  if (values.retrain && fs.existsSync(dir)) {
    console.log(`removing ${dir}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const cached = fs.existsSync(dir);
  const fn = loadOrTrainFeatureNet({ preset });
  console.log(`${cached ? "cached" : "trained"} feature net "${preset}": test accuracy ${(100 * fn.testAccuracy).toFixed(2)} %, ${fn.net.params.count()} parameters, ${fn.dir}`);
  if (values["embed-test"]) {
    const t = Date.now();
    const e = testSetEmbedding({ preset });
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

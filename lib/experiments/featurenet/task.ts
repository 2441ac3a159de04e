/**
 * The `featurenet` kind: a TrainTask for the classifier (lib/models/classifier.ts), and the frozen network a gFID
 * uses, loaded from its finished run (trained once when missing, then reused by every process).
 *
 *   const net = await loadFeatureNet(env, "full");          // net.net: Classifier, net.testAccuracy, net.dir
 *   evaluateGenerator(sampler, n, { extractor: extractorOf(net), cacheDir: net.dir })
 *
 * Loss: (1/B) Σ_i [logsumexp(z_i) − z_i[y_i]] over logits z = classifier(x) [B, 10] and labels y [B].
 * The reference embedding of the test split is cached in the run folder (`test-embedding.bin`, lib/eval/features).
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { Classifier } from "../../models/classifier";
import { softmaxCrossEntropy } from "../../nn/cross-entropy";
import { batchIndices, imageBatch, labelBatch } from "../../data/batches";
import { dataDir, loadFashionMnist, type ImageDataset } from "../../data/fashion-mnist";
import type { FeatureExtractor } from "../../eval/features";
import type { TrainKind } from "../../train/registry";
import { loadRunWeights, type TrainTask } from "../../train/trainer";
import { findFinishedRun, runId } from "../../train/run";
import { reuseRun, type RunEnv } from "../env";
import { classifierArch, featureNetConfig, featureNetConfigOf, type FeatureNetConfig, type FeatureNetConfigSchema, type FeatureNetName } from "./config";
import { classifierAccuracy } from "./evaluate";

export interface FeatureNetTask extends TrainTask<{ x: tf.Tensor4D; y: tf.Tensor1D }> {
  config: FeatureNetConfig;
  net: Classifier;
  dispose(): void;
}

/** A TrainTask for a resolved feature-net config; weights are initialised from config.seed. */
export function makeFeatureNetTask(cfg: FeatureNetConfig): FeatureNetTask {
  const net = new Classifier(classifierArch(cfg), cfg.seed);
  let ds: ImageDataset | null = null;
  return {
    kind: "featurenet",
    config: cfg,
    params: net.params,
    net,
    batch(step) {
      ds ??= loadFashionMnist("train", cfg.trainLimit > 0 ? { limit: cfg.trainLimit } : {});
      const idx = batchIndices(cfg.seed, step, cfg.batchSize, ds.n);
      return { x: imageBatch(ds, idx), y: labelBatch(ds, idx) };
    },
    loss: (b) => ({ loss: softmaxCrossEntropy(net.forward(b.x).logits, b.y) }),
    disposeBatch: (b) => tf.dispose([b.x, b.y]),
    flopsPerStep: 2 * 3 * net.macsPerImage() * cfg.batchSize,
    evaluate: async () => ({ testAccuracy: classifierAccuracy(net, loadFashionMnist("test", cfg.testLimit > 0 ? { limit: cfg.testLimit } : {})) }),
    dispose: () => net.dispose(),
  };
}

export const featureNetKind: TrainKind<typeof FeatureNetConfigSchema> = {
  description: "the frozen Fashion-MNIST classifier behind FID / IS (feature network), softmax cross-entropy",
  configDef: featureNetConfig,
  makeTask: (cfg) => makeFeatureNetTask(cfg),
};

/** A trained feature network with its provenance. */
export interface FeatureNet {
  net: Classifier;
  name: FeatureNetName;
  config: FeatureNetConfig;
  /** `featurenet-<hash12>`: keys cached reference statistics and is recorded next to every gFID. */
  runId: string;
  /** The run folder (weights, metrics, the cached test-set embedding). */
  dir: string;
  /** Test-split accuracy measured at the end of training. */
  testAccuracy: number;
  featureDim: number;
}

const loaded = new Map<string, FeatureNet>();

/** Forgets the networks loaded in this process (disposing them); the next call loads from the run folder again. */
export function clearFeatureNetCache(): void {
  for (const fn of loaded.values()) fn.net.dispose();
  loaded.clear();
}

/**
 * The feature network `name` ("full" for every reported number, "tiny" in tests): from memory, else its finished run
 * in env.runsDir, else trained now (one line announces it; the run is then reused by every later call and process).
 */
export async function loadFeatureNet(env: RunEnv, name: FeatureNetName = "full"): Promise<FeatureNet> {
  const config = featureNetConfigOf(name);
  const id = runId("featurenet", config);
  const key = path.join(env.runsDir, id);
  const hit = loaded.get(key);
  if (hit && !hit.net.params.variables().some((v) => v.isDisposed)) return hit;
  if (!findFinishedRun("featurenet", config, { runsDir: env.runsDir })) {
    const legacy = path.join(dataDir(), "feature-net");
    const old = fs.existsSync(legacy) ? fs.readdirSync(legacy).filter((d) => d.startsWith(`${name}-`)) : [];
    env.log(
      `feature net: training the "${name}" classifier (${config.steps} steps on ${config.trainLimit || 60000} train images${name === "tiny" ? ", TEST-ONLY tiny variant" : ""}) as run ${id}; ` +
        "it is reused afterwards" +
        (old.length ? `. The old cache ${path.join(legacy, old[0])} is not used: it was trained by the former separate loop, not by this kind's config on the trainer` : ""),
    );
  }
  const { run } = await reuseRun(env, "featurenet", config);
  const net = new Classifier(classifierArch(config), config.seed);
  try {
    loadRunWeights(run, net.params);
  } catch (e) {
    net.dispose();
    throw e;
  }
  const testAccuracy = Number(run.done.final.testAccuracy);
  const fn: FeatureNet = { net, name, config, runId: id, dir: run.dir, testAccuracy, featureDim: config.featureDim };
  loaded.set(key, fn);
  return fn;
}

/** The feature-extractor view of a feature network (lib/eval/features). */
export function extractorOf(fn: FeatureNet): FeatureExtractor {
  return { featureDim: fn.featureDim, id: fn.runId, forward: (x) => fn.net.forward(x) };
}

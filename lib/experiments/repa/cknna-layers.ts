/**
 * CKNNA per layer (spec §7, Huh et al.): how close each layer of a generator is to the teacher's representation, on n
 * images the generator itself produced.
 *
 *   A_ℓ [n, D]  = the generator's hidden state after block ℓ (ℓ = 0: the embedding output), mean-pooled over the
 *                 image's token positions (DiT: all T; AR: positions 1 … T−1, see below)
 *   B   [n, Dt] = the teacher's patch features of the decoded image, mean-pooled over the patches
 *   CKNNA_ℓ     = cknna(A_ℓ, B, k = 10)                                            (eval/cknna.ts)
 *
 * AR: the tokens are sampled (seeded, the run's in-run sampling settings), then fed back teacher-forced with their
 * classes, so position i's state is the one that predicted token i. Position 0 holds the class embedding alone (the
 * input sequence is [c, s_0, …, s_{T−2}] and attention is causal): its state is the same for every image of a class at
 * every layer, so pooling it would add a class-only component that says nothing about the image; it is left out
 * (`arPooledHidden`). DiT: the sampled latent x̂₁ (Euler, the run's
 * evalSteps) is noised to t = `t` (default 0.9, x_t = t·x̂₁·m + (1 − t)·x₀ with seeded x₀) and run through the model,
 * reading the hidden states after each block; the DiT never sees a clean latent (t = 1) in training.
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "../../rng";
import { cknna } from "../../eval/cknna";
import type { PatchTeacher } from "../../models/teacher";
import { sampleClasses } from "../generator";
import { decodeTokens, evalSampling, type ArModel } from "../ar/sample";
import { sampleDiTLatents, decodeDiTLatents, type DiTModel } from "../dit/sample";

/** CKNNA of every layer (index 0 = embedding output, ℓ = after block ℓ). */
export interface LayerCknna {
  layers: number[];
  cknna: number[];
  n: number;
  k: number;
}

/** Mean over positions first … T−1 of hidden [n, T, D] → Float32Array [n·D]. */
function poolTokens(h: tf.Tensor3D, first = 0): Float32Array {
  const m = tf.tidy(() => tf.mean(first > 0 ? tf.slice(h, [0, first, 0], [-1, -1, -1]) : h, 1));
  const v = m.dataSync() as Float32Array;
  m.dispose();
  return v;
}

/**
 * The AR's teacher-forced hidden states after each of `layers` (0 = embedding output), each mean-pooled over the
 * token positions 1 … T−1 (position 0, the class embedding alone, left out): one Float32Array [n·D] per layer.
 */
export function arPooledHidden(model: ArModel["model"], classes: Int32Array | number[], tokens: Int32Array | number[], layers: number[]): Float32Array[] {
  const n = classes.length;
  const cls = tf.tensor1d(Array.from(classes), "int32");
  const tok = tf.tensor3d(Array.from(tokens), [n, model.seqLen, model.numGroups], "int32");
  try {
    const out = model.forward(cls, tok, { hiddenAt: layers });
    tf.dispose(out.logits);
    const pooled = out.hidden.map((h) => poolTokens(h, 1));
    tf.dispose(out.hidden);
    return pooled;
  } finally {
    tf.dispose([cls, tok]);
  }
}

function pooledTeacherFeatures(teacher: PatchTeacher, images: tf.Tensor4D): Float32Array {
  const f = tf.tidy(() => teacher.forward(tf.clipByValue(images, -1, 1) as tf.Tensor4D).pooled);
  const v = f.dataSync() as Float32Array;
  f.dispose();
  return v;
}

function checkN(n: number, k: number): void {
  if (!(Number.isInteger(n) && n > k && n >= 4)) throw new Error(`layerCknna: n=${n} images with k=${k}; expected an integer n > k (the paper uses n = 64)`);
}

/** CKNNA of each AR trunk layer to the teacher, on n generated images (classes uniform, seeded). */
export async function arLayerCknna(ar: ArModel, teacher: PatchTeacher, opts: { n: number; seed: number; k?: number }): Promise<LayerCknna> {
  const k = opts.k ?? 10;
  checkN(opts.n, k);
  const { model } = ar;
  const classes = sampleClasses(opts.n, ar.classNames.length, mixSeed(opts.seed, "cknna-classes"));
  const tokens = await model.generate(classes, { ...evalSampling(ar.config), seed: mixSeed(opts.seed, "cknna-tokens") });
  const images = decodeTokens(ar, tokens, opts.n);
  const B = pooledTeacherFeatures(teacher, images);
  images.dispose();
  const layers = Array.from({ length: model.arch.depth + 1 }, (_, l) => l);
  const A = arPooledHidden(model, classes, tokens, layers);
  return { layers, cknna: A.map((a) => cknna(a, B, opts.n, model.arch.dim, teacher.arch.featureDim, { k })), n: opts.n, k };
}

/** CKNNA of each DiT layer to the teacher, on n generated images (hidden states read at time t of the path). */
export async function ditLayerCknna(dit: DiTModel, teacher: PatchTeacher, opts: { n: number; seed: number; k?: number; t?: number }): Promise<LayerCknna> {
  const k = opts.k ?? 10;
  const t = opts.t ?? 0.9;
  checkN(opts.n, k);
  const { model } = dit;
  const classes = sampleClasses(opts.n, dit.classNames.length, mixSeed(opts.seed, "cknna-classes"));
  const z = sampleDiTLatents(dit, classes, { seed: mixSeed(opts.seed, "cknna-latents") });
  try {
    const images = decodeDiTLatents(dit, z);
    const B = pooledTeacherFeatures(teacher, images);
    images.dispose();
    const xt = tf.tidy(() => tf.add(tf.mul(z, t * dit.latentMultiplier), tf.mul(tf.randomNormal(z.shape, 0, 1, "float32", mixSeed(opts.seed, "cknna-noise")), 1 - t)) as tf.Tensor4D);
    const layers = Array.from({ length: model.arch.depth + 1 }, (_, l) => l);
    const A = layers.map((l) => {
      const out = model.forward(xt, t, Array.from(classes), { hiddenAfter: l });
      const a = poolTokens(out.hidden!);
      tf.dispose([out.velocity, out.hidden!]);
      return a;
    });
    xt.dispose();
    return { layers, cknna: A.map((a) => cknna(a, B, opts.n, model.arch.dim, teacher.arch.featureDim, { k })), n: opts.n, k };
  } finally {
    z.dispose();
  }
}

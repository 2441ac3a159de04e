/**
 * The frozen feature network of our metrics: a small CNN classifier of Fashion-MNIST (32×32×1, padded), standing in
 * for the paper's InceptionV3 (whose weights cannot be fetched here). Its penultimate layer (`featureDim`, default
 * 128) feeds FID and precision/recall; its softmax feeds the Inception-style score. It is trained once on the train
 * split (the `featurenet` kind, lib/experiments/featurenet/) and never by a generator's loss, so FID cannot be gamed through it.
 *
 *   x [B, 32, 32, 1]
 *   → conv3×3 1→c1, ReLU, 2×2 mean-pool         [B, 16, 16, c1]
 *   → conv3×3 c1→c2, ReLU, 2×2 mean-pool        [B, 8, 8, c2]
 *   → conv3×3 c2→c3, ReLU                       [B, 8, 8, c3]
 *   → flatten, linear 64·c3 → featureDim        [B, featureDim]   = features (pre-activation: dense, full rank)
 *   → ReLU, linear featureDim → 10              [B, 10]           = logits
 * Downsampling is by mean-pooling after stride-1 convolutions: on wasm the input gradient of a stride-2 convolution
 * (Conv2DBackpropInput) cost 60 % of a training step, a reshape-and-mean pool almost nothing.
 */
import * as tf from "@tensorflow/tfjs";
import { ParamStore } from "../nn/params";
import { conv2dLayer } from "../nn/conv";
import type { ConvParams } from "../nn/conv";
import { linear } from "../nn/matmul";
import type { LinearParams } from "../nn/matmul";
import { convParams, linearParams } from "../nn/layers";

/** 2×2 mean pooling [B, H, W, C] → [B, H/2, W/2, C] (reshape + mean: gradients on every backend). */
export function meanPool2(x: tf.Tensor4D): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  return tf.mean(tf.reshape(x, [B, H / 2, 2, W / 2, 2, C]), [2, 4]) as tf.Tensor4D;
}

export interface ClassifierArch {
  /** Channels of the three conv layers. */
  channels: [number, number, number];
  /** Width of the penultimate (feature) layer. */
  featureDim: number;
  /** Number of classes. */
  classes: number;
  /** Input side (square, 1 channel); must be divisible by 4. */
  side: number;
}

/** Bumped whenever the forward pass changes, so cached weights of an older design are never loaded into this one. */
export const CLASSIFIER_VERSION = 2;

export const DEFAULT_CLASSIFIER_ARCH: ClassifierArch = { channels: [16, 32, 64], featureDim: 128, classes: 10, side: 32 };

export interface ClassifierOutput {
  /** [B, featureDim]. */
  features: tf.Tensor2D;
  /** [B, classes]. */
  logits: tf.Tensor2D;
}

export class Classifier {
  readonly params: ParamStore;
  private readonly convs: ConvParams[];
  private readonly fc: LinearParams;
  private readonly head: LinearParams;

  /** Builds the network with weights initialised from `seed` (ParamStore: values depend on (seed, name) only). */
  constructor(
    readonly arch: ClassifierArch,
    readonly seed: number,
  ) {
    const { channels, featureDim, classes, side } = arch;
    if (side % 4 !== 0) throw new Error(`Classifier: side=${side} must be divisible by 4 (two 2×2 pools)`);
    this.params = new ParamStore(seed);
    const ins = [1, channels[0], channels[1]];
    this.convs = channels.map((c, i) => convParams(this.params.scope(`conv${i}`), 3, ins[i], c));
    const flat = (side / 4) * (side / 4) * channels[2];
    this.fc = linearParams(this.params.scope("fc"), flat, featureDim);
    this.head = linearParams(this.params.scope("head"), featureDim, classes);
  }

  /** Features and logits of x [B, side, side, 1] (values in [−1, 1]). */
  forward(x: tf.Tensor4D): ClassifierOutput {
    const [B, H, W, C] = x.shape;
    const s = this.arch.side;
    if (H !== s || W !== s || C !== 1) throw new Error(`Classifier: input must be [B, ${s}, ${s}, 1], got [${x.shape.join(", ")}]`);
    let h = meanPool2(tf.relu(conv2dLayer(x, this.convs[0]))); // [B, s/2, s/2, c1]
    h = meanPool2(tf.relu(conv2dLayer(h, this.convs[1]))); // [B, s/4, s/4, c2]
    h = tf.relu(conv2dLayer(h, this.convs[2])); // [B, s/4, s/4, c3]
    const features = linear(tf.reshape(h, [B, -1]) as tf.Tensor2D, this.fc); // [B, featureDim]
    const logits = linear(tf.relu(features), this.head); // [B, classes]
    return { features, logits };
  }

  /** Multiply-accumulates of one forward pass per image. */
  macsPerImage(): number {
    const { channels: [c1, c2, c3], featureDim, classes, side: s } = this.arch;
    return s * s * 9 * c1 + (s / 2) ** 2 * 9 * c1 * c2 + (s / 4) ** 2 * 9 * c2 * c3 + (s / 4) ** 2 * c3 * featureDim + featureDim * classes;
  }

  dispose(): void {
    this.params.dispose();
  }
}

/**
 * The REPA teacher: a small self-supervised patch encoder of Fashion-MNIST standing in for DINOv2 (whose weights
 * cannot be fetched here). It gives one feature vector per cell of an 8×8 grid, so patch i matches latent position i
 * of the tokenizer's 8×8 grid (raster order). Trained by SimCLR (nn/nt-xent) on augmented views (data/augment), never
 * with labels, so it differs from the FID feature network (models/classifier) in weights and in objective.
 *
 *   x [B, 32, 32, 1] (values in [−1, 1])
 *   → conv3×3 1→c1, GELU, 2×2 mean-pool        [B, 16, 16, c1]
 *   → conv3×3 c1→c2, GELU, 2×2 mean-pool       [B, 8, 8, c2]
 *   → conv3×3 c2→c3, GELU                      [B, 8, 8, c3]
 *   → conv1×1 c3→Dt                            [B, 8, 8, Dt]  = patch features (what REPA aligns to)
 *   → mean over the 64 patches                 [B, Dt]        = image feature (linear probe, CKNNA, SimCLR input)
 *   → linear Dt→P, GELU, linear P→P            [B, P]         = SimCLR projection (training only)
 * Receptive field of a patch feature: 3 + 2·2 + 2·4 = 15 pixels at the 32-pixel input, centred on its cell.
 */
import * as tf from "@tensorflow/tfjs";
import { ParamStore } from "../nn/params";
import { conv2dLayer, type ConvParams } from "../nn/conv";
import { linear, type LinearParams } from "../nn/matmul";
import { convParams, linearParams } from "../nn/layers";
import { gelu } from "../nn/activations";
import { meanPool2 } from "./classifier";

export interface TeacherArch {
  /** Channels of the three 3×3 conv layers. */
  channels: [number, number, number];
  /** Width Dt of a patch feature. */
  featureDim: number;
  /** Width P of the SimCLR projection head. */
  projDim: number;
  /** Input side (square, 1 channel); divisible by 4, giving a (side/4)² patch grid. */
  side: number;
}

/** Bumped whenever the forward pass changes, so weights of an older design are never loaded into this one. */
export const TEACHER_VERSION = 1;

export interface TeacherOutput {
  /** [B, side/4, side/4, Dt]. */
  patches: tf.Tensor4D;
  /** Mean of the patches, [B, Dt]. */
  pooled: tf.Tensor2D;
}

export class PatchTeacher {
  readonly params: ParamStore;
  /** Cells per side of the patch grid (side/4). */
  readonly grid: number;
  private readonly convs: ConvParams[];
  private readonly out: ConvParams;
  private readonly proj: [LinearParams, LinearParams];

  constructor(
    readonly arch: TeacherArch,
    seed: number,
  ) {
    const { channels, featureDim, projDim, side } = arch;
    if (!(Number.isInteger(side) && side > 0 && side % 4 === 0)) throw new Error(`PatchTeacher: side=${side} must be a positive multiple of 4 (two 2×2 pools)`);
    for (const [k, v] of [["featureDim", featureDim], ["projDim", projDim], ...channels.map((c, i) => [`channels[${i}]`, c] as const)] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw new Error(`PatchTeacher: ${k}=${v} must be a positive integer`);
    }
    this.grid = side / 4;
    this.params = new ParamStore(seed);
    const ins = [1, channels[0], channels[1]];
    this.convs = channels.map((c, i) => convParams(this.params.scope(`conv${i}`), 3, ins[i], c));
    this.out = convParams(this.params.scope("patch"), 1, channels[2], featureDim);
    this.proj = [linearParams(this.params.scope("proj1"), featureDim, projDim), linearParams(this.params.scope("proj2"), projDim, projDim)];
  }

  /** Patch features and their mean for x [B, side, side, 1]. */
  forward(x: tf.Tensor4D): TeacherOutput {
    const [B, H, W, C] = x.shape;
    const s = this.arch.side;
    if (H !== s || W !== s || C !== 1) throw new Error(`PatchTeacher: input must be [B, ${s}, ${s}, 1], got [${x.shape.join(", ")}]`);
    return tf.tidy(() => {
      let h = meanPool2(gelu(conv2dLayer(x, this.convs[0])));
      h = meanPool2(gelu(conv2dLayer(h, this.convs[1])));
      h = gelu(conv2dLayer(h, this.convs[2]));
      const patches = conv2dLayer(h, this.out) as tf.Tensor4D;
      const pooled = tf.reshape(tf.mean(patches, [1, 2]), [B, this.arch.featureDim]) as tf.Tensor2D;
      return { patches, pooled };
    });
  }

  /** The SimCLR projection of pooled features [B, Dt] → [B, P] (training only). */
  project(pooled: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => linear(gelu(linear(pooled, this.proj[0])), this.proj[1]) as tf.Tensor2D);
  }

  /** Forward multiply-adds per image (convs, the 1×1 patch layer, the projection head). */
  macsPerImage(): number {
    const { channels: [c1, c2, c3], featureDim: D, projDim: P, side: s } = this.arch;
    const g = s / 4;
    return s * s * 9 * c1 + (s / 2) ** 2 * 9 * c1 * c2 + g * g * 9 * c2 * c3 + g * g * c3 * D + D * P + P * P;
  }

  dispose(): void {
    this.params.dispose();
  }
}

/**
 * Patch features [B, g, g, Dt] averaged onto a coarser n×n grid (g divisible by n): [B, n·n, Dt], raster order.
 * The teacher's 8×8 grid serves a tokenizer with an 8×8 latent as is; a 4×4 latent gets 2×2 means.
 */
export function patchesToGrid(patches: tf.Tensor4D, n: number): tf.Tensor3D {
  const [B, g, , D] = patches.shape;
  if (!(Number.isInteger(n) && n > 0 && g % n === 0)) throw new Error(`patchesToGrid: the teacher's ${g}×${g} patch grid cannot be pooled onto a ${n}×${n} latent grid (${g} is not a multiple of ${n})`);
  return tf.tidy(() => {
    const f = g / n;
    const pooled = f === 1 ? patches : tf.mean(tf.reshape(patches, [B, n, f, n, f, D]), [2, 4]);
    return tf.reshape(pooled, [B, n * n, D]) as tf.Tensor3D;
  });
}

/**
 * The codebook calculator of notebook 01: what a choice of FSQ levels L = [L_1 … L_d] means for a tokenizer and the
 * AR model on top of it.
 *
 *   bits per dimension  b_j = log₂ L_j            bits per position  B = Σ_j b_j = log₂ K
 *   codebook size       K = ∏_j L_j
 *   AR vocabulary       per sub-token g: V_g = ∏_{j ∈ group g} L_j, for each token layout lib/models/llamagen.ts
 *                       supports (`tokenLayout`: "single" = one index per position, V = K; "factorized" with every
 *                       channelsPerGroup that divides d: G = d / channelsPerGroup sub-tokens per position)
 *   tokens per image    T = (S / f)² positions, T·G sub-tokens (S = image side, f = downsampling factor)
 *
 * The layouts come from `tokenLayout` itself, so a layout the model rejects (a single vocabulary above
 * MAX_SINGLE_VOCAB) is listed with the model's reason instead of a number.
 */
import { FSQ } from "../../quant/fsq";
import { tokenLayout, type TokenMode } from "../../models/llamagen";

export interface LayoutFacts {
  /** "single" or "factorized ×c" (c channels per sub-token). */
  name: string;
  mode: TokenMode;
  channelsPerGroup: number;
  /** Sub-tokens per position G (1 for single). */
  subTokens: number;
  /** Vocabulary of each sub-token V_g; empty when the model does not support the layout. */
  vocab: number[];
  /** Sub-tokens per image T·G. */
  tokensPerImage: number;
  /** Size of the output heads Σ_g V_g (logits per position). */
  logitsPerPosition: number;
  /** Why the model rejects this layout, or null. */
  unsupported: string | null;
}

export interface CodebookFacts {
  levels: number[];
  /** log₂ L_j per dimension. */
  bitsPerDim: number[];
  /** Σ_j log₂ L_j = log₂ K. */
  bitsPerPosition: number;
  /** K = ∏ L_j. */
  codebookSize: number;
  /** Latent positions per image T = (S / f)². */
  positions: number;
  /** Bits per image T·log₂ K. */
  bitsPerImage: number;
  layouts: LayoutFacts[];
}

/**
 * Everything the calculator shows for `levels` on images of side `imageSize` with downsampling factor `factor`
 * (defaults: the project's 32×32 images and f = 4, an 8×8 grid).
 */
export function codebookFacts(levels: readonly number[], opts: { imageSize?: number; factor?: number } = {}): CodebookFacts {
  const imageSize = opts.imageSize ?? 32;
  const factor = opts.factor ?? 4;
  if (!(Number.isInteger(imageSize) && Number.isInteger(factor) && factor >= 1 && imageSize % factor === 0)) {
    throw new Error(`codebookFacts: imageSize=${imageSize}, factor=${factor}; expected integers with factor ≥ 1 dividing imageSize`);
  }
  const fsq = new FSQ({ levels: [...levels], bound: "tanh" }); // validates levels (integers ≥ 2)
  const d = fsq.dim;
  const positions = (imageSize / factor) ** 2;
  const bitsPerDim = levels.map((L) => Math.log2(L));
  const bitsPerPosition = bitsPerDim.reduce((a, b) => a + b, 0);
  const codebookSize = levels.reduce((a, b) => a * b, 1);
  const layouts: LayoutFacts[] = [];
  const tryLayout = (mode: TokenMode, c: number, name: string) => {
    const G = mode === "single" ? 1 : d / c;
    try {
      const layout = tokenLayout(fsq, mode, c);
      const vocab = [...layout.groupSizes];
      layouts.push({ name, mode, channelsPerGroup: c, subTokens: G, vocab, tokensPerImage: positions * G, logitsPerPosition: vocab.reduce((a, b) => a + b, 0), unsupported: null });
    } catch (e) {
      layouts.push({ name, mode, channelsPerGroup: c, subTokens: G, vocab: [], tokensPerImage: positions * G, logitsPerPosition: NaN, unsupported: (e as Error).message });
    }
  };
  tryLayout("single", d, "single");
  for (let c = 1; c < d; c++) if (d % c === 0) tryLayout("factorized", c, `factorized ×${c}`);
  return { levels: [...levels], bitsPerDim, bitsPerPosition, codebookSize, positions, bitsPerImage: positions * bitsPerPosition, layouts };
}

/** The calculator as table rows: one row per token layout. */
export function codebookRows(f: CodebookFacts): Record<string, number | string>[] {
  return f.layouts.map((l) => ({
    layout: l.name,
    "sub-tokens / position": l.subTokens,
    "vocabulary per sub-token": l.unsupported ? "not supported" : [...new Set(l.vocab)].join(" / "),
    "logits / position": l.unsupported ? "–" : l.logitsPerPosition,
    "tokens / image": l.tokensPerImage,
  }));
}

/** "L = [17,17,17,17]: 4.087 bits per dimension (16.35 bits per position), codebook K = 83 521, 64 positions …". */
export function codebookSummary(f: CodebookFacts): string {
  const uniq = [...new Set(f.bitsPerDim.map((b) => b.toFixed(3)))];
  return `L = [${f.levels.join(", ")}]: ${uniq.join(" / ")} bits per dimension (${f.bitsPerPosition.toFixed(2)} bits per position), ` +
    `codebook size K = ∏L = ${f.codebookSize.toLocaleString("en-US")}, ${f.positions} positions per image (${f.bitsPerImage.toFixed(0)} bits per image).`;
}

/**
 * Parameter builders on a ParamScope. Names: "<scope>.w", "<scope>.b" (linear/conv), "<scope>.gamma", "<scope>.beta"
 * (norms). Weights are [in, out]; conv weights [k, k, in, out].
 */
import * as tf from "@tensorflow/tfjs";
import type { Init, ParamScope } from "./params";
import type { LinearParams } from "./matmul";
import type { ConvParams } from "./conv";
import type { NormParams } from "./norm";

export interface LayerParamOptions {
  /** Add a bias (zeros). Default true. */
  bias?: boolean;
  /** Weight init. Default "kaiming" (torch's default for Linear/Conv). */
  init?: Init;
}

/** Linear layer parameters: w [inDim, outDim], b [outDim]. */
export function linearParams(scope: ParamScope, inDim: number, outDim: number, opts: LayerParamOptions = {}): LinearParams {
  const w: tf.Tensor = scope.add("w", [inDim, outDim], opts.init ?? "kaiming");
  return opts.bias ?? true ? { w, b: scope.add("b", [outDim], "zeros") } : { w };
}

/** Conv layer parameters: w [k, k, inC, outC], b [outC]. */
export function convParams(scope: ParamScope, k: number, inC: number, outC: number, opts: LayerParamOptions = {}): ConvParams {
  const w: tf.Tensor = scope.add("w", [k, k, inC, outC], opts.init ?? "kaiming");
  return opts.bias ?? true ? { w, b: scope.add("b", [outC], "zeros") } : { w };
}

/** Norm parameters: gamma [dim] (ones), beta [dim] (zeros). */
export function normParams(scope: ParamScope, dim: number): NormParams {
  return { gamma: scope.add("gamma", [dim], "ones"), beta: scope.add("beta", [dim], "zeros") };
}

/** Scale-only norm parameters (RMSNorm): gamma [dim] (ones). */
export function scaleParams(scope: ParamScope, dim: number): tf.Tensor {
  return scope.add("gamma", [dim], "ones");
}

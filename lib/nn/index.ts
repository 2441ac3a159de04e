/** Public API of lib/nn: building blocks with wasm-fast gradients, norms, transformer parts, optimisers, parameters. */
export * from "./params";
export * from "./custom";
export * from "./matmul";
export * from "./conv";
export * from "./embedding";
export * from "./activations";
export * from "./norm";
export * from "./layers";
export * from "./adamw";
export * from "./ema";
export * from "./clip";
export * from "./rope";
export * from "./attention";
export * from "./swiglu";
export * from "./adaln";
export * from "./transformer";
export * from "./flops";

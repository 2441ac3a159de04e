/** Public API of lib/eval: reconstruction metrics, FID / IS / precision–recall. */
export * from "./images";
export * from "./psnr";
export * from "./ssim";
export * from "./stats";
export * from "./fid";
export * from "./inception-score";
export * from "./precision-recall";
export * from "./features";
export * from "./cknna";
export * from "./linear-probe";

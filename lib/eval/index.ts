/** Public API of lib/eval: reconstruction metrics, the feature network, FID / IS / precision–recall. */
export * from "./images";
export * from "./psnr";
export * from "./ssim";
export * from "./stats";
export * from "./fid";
export * from "./inception-score";
export * from "./precision-recall";
export * from "./feature-net";
export * from "./features";

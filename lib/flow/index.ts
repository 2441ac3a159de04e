/** Public API of lib/flow: the flow-matching path, training times, losses, classifier-free guidance, the Euler sampler. */
export * from "./path";
export * from "./timesteps";
export * from "./loss";
export * from "./cfg";
export * from "./euler";
export * from "./sampler";

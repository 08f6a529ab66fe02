export function buildPlugin(opts?: { root?: string; outdir?: string; quiet?: boolean }): Promise<string[]>;

import type { BuildOptions, Plugin } from 'esbuild';

export const repoRoot: string;
export function bundleWorkspaces(root?: string): Plugin;
export function nodeBundleOptions(opts?: { root?: string; quiet?: boolean }): BuildOptions;

// Lua scripts are bundled as text (esbuild `loader: {'.lua': 'text'}`, vitest plugin in vitest.config.ts).
declare module '*.lua' {
  const source: string;
  export default source;
}

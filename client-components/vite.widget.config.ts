// One self-contained file, dist/widget/widget.js: IIFE, React bundled, CSS as a string inside the
// bundle (injected into Shadow DOM roots at runtime). Build: `npm run build:widget`.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root,
  publicDir: false,
  plugins: [react()],
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  logLevel: 'warn',
  build: {
    outDir: `${root}dist/widget`,
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: true,
    minify: true,
    reportCompressedSize: false,
    lib: {
      entry: `${root}client-components/src/widget/main.tsx`,
      name: 'SolarisWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
});

// One self-contained file, dist/widget/widget.js: IIFE, React bundled, CSS as a string inside the
// bundle (injected into Shadow DOM roots at runtime). Build: `npm run build:widget`.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// A build run from a test runner inherits NODE_ENV=test, which makes the JSX transform emit jsxDEV
// calls that React's production runtime does not have: the widget is always a production build.
process.env.NODE_ENV = 'production';

export default defineConfig({
  root,
  mode: 'production',
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

import { defineConfig } from 'vitest/config';

// `npm run dev` proxies the API to a running `scope launch` (SCOPE_API, default :4040).
const api = process.env['SCOPE_API'] ?? 'http://127.0.0.1:4040';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Keep one small app chunk plus the layout worker; no source maps in the binary.
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': { target: api, ws: true, changeOrigin: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});

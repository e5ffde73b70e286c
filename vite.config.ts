// Builds the studio's renderer (src-renderer/) into dist-renderer/, which the web host and the
// Electron window both load. Relative asset paths so the build also works from a file: URL.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('./src-renderer', import.meta.url)),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('./dist-renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
  server: { port: 5173, proxy: { '/api': 'http://127.0.0.1:4790' } },
});

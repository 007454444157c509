/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The dev server proxies the API and the OpenAI endpoint to a running `lc up`, so
// `npm run dev` behaves like the console served at / by the local stack.
const stack = process.env.LC_STACK_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 800 },
  server: {
    host: "127.0.0.1",
    proxy: { "/api": stack, "/v1": stack },
  },
  preview: { host: "127.0.0.1" },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    restoreMocks: true,
  },
});

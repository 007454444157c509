import { describe, expect, it } from "vitest";

import { curlSnippet, openaiBase, pythonSnippet } from "./snippets";

const ORIGIN = "https://app.example.com/";
const MODEL = "meta-llama/Llama-3.1-8B-Instruct";

describe("snippets", () => {
  it("point at the one /v1 endpoint", () => {
    expect(openaiBase(ORIGIN)).toBe("https://app.example.com/v1");
  });

  it("send the API key the way OpenAI SDKs do, for every endpoint kind", () => {
    for (const endpoints of [["chat_completions"], ["completions"], ["embeddings"]] as const) {
      const curl = curlSnippet(ORIGIN, MODEL, endpoints);
      expect(curl).toContain('-H "Authorization: Bearer $LC_API_KEY"');
      expect(curl).toContain(`"model": "${MODEL}"`);
      const python = pythonSnippet(ORIGIN, MODEL, endpoints);
      expect(python).toContain('api_key=os.environ.get("LC_API_KEY", "none")');
      expect(python.startsWith("import os\n")).toBe(true);
    }
  });

  it("pick the call the model serves", () => {
    expect(curlSnippet(ORIGIN, MODEL, ["chat_completions"])).toContain("/v1/chat/completions");
    expect(curlSnippet(ORIGIN, MODEL, ["completions"])).toContain("/v1/completions");
    expect(curlSnippet(ORIGIN, MODEL, ["embeddings"])).toContain("/v1/embeddings");
    expect(pythonSnippet(ORIGIN, MODEL, ["embeddings"])).toContain("client.embeddings.create");
  });
});

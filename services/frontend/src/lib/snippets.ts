/**
 * Copy-paste examples for calling a Service, pointed at this platform's `/v1`. They send
 * the key in `$LC_API_KEY` as OpenAI SDKs do (`Authorization: Bearer`): lc-proxy needs one
 * of its API keys whenever it listens beyond loopback, and ignores the header otherwise.
 */
import type { Endpoint, Service } from "../api/types";

const AUTH_HEADER = `  -H "Authorization: Bearer $LC_API_KEY" \\`;

export function openaiBase(origin: string): string {
  return `${origin.replace(/\/$/, "")}/v1`;
}

export function curlSnippet(origin: string, modelName: string, endpoints: readonly Endpoint[]): string {
  const base = openaiBase(origin);
  if (endpoints.includes("chat_completions") || endpoints.length === 0) {
    return [
      `curl ${base}/chat/completions \\`,
      AUTH_HEADER,
      `  -H 'Content-Type: application/json' \\`,
      `  -d '{`,
      `    "model": "${modelName}",`,
      `    "messages": [{"role": "user", "content": "Hello!"}]`,
      `  }'`,
    ].join("\n");
  }
  if (endpoints.includes("completions")) {
    return [
      `curl ${base}/completions \\`,
      AUTH_HEADER,
      `  -H 'Content-Type: application/json' \\`,
      `  -d '{"model": "${modelName}", "prompt": "Hello!", "max_tokens": 32}'`,
    ].join("\n");
  }
  return [
    `curl ${base}/embeddings \\`,
    AUTH_HEADER,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '{"model": "${modelName}", "input": "Hello!"}'`,
  ].join("\n");
}

export function pythonSnippet(origin: string, modelName: string, endpoints: readonly Endpoint[]): string {
  const head = [
    "import os",
    "",
    "from openai import OpenAI",
    "",
    `client = OpenAI(base_url="${openaiBase(origin)}", api_key=os.environ.get("LC_API_KEY", "none"))`,
    "",
  ];
  if (endpoints.includes("chat_completions") || endpoints.length === 0) {
    return [
      ...head,
      "response = client.chat.completions.create(",
      `    model="${modelName}",`,
      '    messages=[{"role": "user", "content": "Hello!"}],',
      ")",
      "print(response.choices[0].message.content)",
    ].join("\n");
  }
  if (endpoints.includes("completions")) {
    return [
      ...head,
      `response = client.completions.create(model="${modelName}", prompt="Hello!", max_tokens=32)`,
      "print(response.choices[0].text)",
    ].join("\n");
  }
  return [
    ...head,
    `response = client.embeddings.create(model="${modelName}", input="Hello!")`,
    "print(len(response.data[0].embedding))",
  ].join("\n");
}

/** Every URL a Service answers at: its platform URL, then its verified custom domains. */
export function serviceUrls(service: Service): string[] {
  const urls: string[] = [];
  if (service.url) urls.push(service.url);
  for (const d of service.domains ?? []) {
    const u = /^https?:\/\//.test(d) ? d : `https://${d}`;
    if (!urls.includes(u)) urls.push(u);
  }
  return urls;
}

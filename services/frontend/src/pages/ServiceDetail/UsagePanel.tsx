import type { Service } from "../../api/types";
import { CodeBlock } from "../../components/CodeBlock";
import { curlSnippet, openaiBase, pythonSnippet } from "../../lib/snippets";

export function UsagePanel({ service }: { service: Service }) {
  const origin = window.location.origin;
  const model = service.spec.kind.model;
  return (
    <section className="card" aria-labelledby="usage-title">
      <h2 id="usage-title">Call it</h2>
      {model ? (
        <>
          <p className="muted">
            Every model is served through one OpenAI-compatible endpoint, <code>{openaiBase(origin)}</code>, routed by the
            request&apos;s <code>model</code>. It answers once the service is Ready.
          </p>
          <CodeBlock label="curl" code={curlSnippet(origin, model.modelName, model.endpoints ?? [])} />
          <CodeBlock label="OpenAI Python SDK" code={pythonSnippet(origin, model.modelName, model.endpoints ?? [])} />
        </>
      ) : service.url ? (
        <CodeBlock label="curl" code={`curl ${service.url}/`} />
      ) : (
        <p className="muted">This container has no HTTP port or is not exposed, so it has no URL.</p>
      )}
    </section>
  );
}

/** Renders the whole console (routes, session, live events) over a fake API. */
import { render } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { App } from "../App";
import { ApiClient } from "../api/client";
import { setEventSourceFactory } from "../lib/sse";
import { FakeEventSource, fakeFetch } from "./fakes";

type Routes = Parameters<typeof fakeFetch>[0];

export const openConfig = {
  "GET /api/v1/config": { body: { platformDomain: "lc.test", cnameTarget: "ingress.lc.test", authMode: "none", version: "test" } },
  "GET /api/v1/auth/me": { body: { username: "anonymous", authEnabled: false } },
};

export function renderConsole(path: string, routes: Routes) {
  FakeEventSource.instances = [];
  setEventSourceFactory((url) => new FakeEventSource(url) as unknown as EventSource);
  const { fetch, calls } = fakeFetch({ ...openConfig, ...routes });
  const client = new ApiClient({ fetch });
  const view = render(
    <MemoryRouter initialEntries={[path]}>
      <App client={client} />
    </MemoryRouter>,
  );
  return { ...view, calls };
}

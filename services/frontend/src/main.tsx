import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { App } from "./App";
import { ApiClient } from "./api/client";
import "./styles.css";

const signedOut = { current: () => undefined as void };
const client = new ApiClient({ onUnauthorized: () => signedOut.current() });

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <BrowserRouter>
      <App client={client} signedOutRef={signedOut} />
    </BrowserRouter>
  </StrictMode>,
);

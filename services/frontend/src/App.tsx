/** Routes, the sign-in gate and the page frame. */
import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import type { ApiClient } from "./api/client";
import { ApiProvider, LiveEventsProvider } from "./api/context";
import { SessionProvider, useSession } from "./api/session";
import { Layout } from "./components/Layout";
import { ErrorBanner, Loading } from "./components/States";
import { AsOfPage } from "./pages/Audit/AsOfPage";
import { DiffPage } from "./pages/Audit/DiffPage";
import { BatchesPage } from "./pages/Batches/BatchesPage";
import { DomainsPage } from "./pages/Domains/DomainsPage";
import { EventsPage } from "./pages/Events/EventsPage";
import { FleetPage } from "./pages/Fleet/FleetPage";
import { MetricsPage } from "./pages/Metrics/MetricsPage";
import { NotFoundPage } from "./pages/NotFound/NotFoundPage";
import { ProjectsPage } from "./pages/Projects/ProjectsPage";
import { ServiceDetailPage } from "./pages/ServiceDetail/ServiceDetailPage";
import { ServiceFormPage } from "./pages/ServiceForm/ServiceFormPage";
import { ServicesPage } from "./pages/Services/ServicesPage";
import { SignInPage } from "./pages/SignIn/SignInPage";
import { WebhooksPage } from "./pages/Webhooks/WebhooksPage";

export function App({ client, signedOutRef }: { client: ApiClient; signedOutRef?: { current: () => void } }) {
  return (
    <ApiProvider client={client}>
      <SessionProvider {...(signedOutRef ? { signedOutRef } : {})}>
        <Gate />
      </SessionProvider>
    </ApiProvider>
  );
}

function Gate() {
  const session = useSession();
  const location = useLocation();

  if (session.status === "checking") {
    return (
      <main className="centered">
        <Loading what="the console" />
      </main>
    );
  }
  if (session.status === "unreachable") {
    return (
      <main className="centered">
        <h1 className="brand-big">LiquidCompute</h1>
        <ErrorBanner error={session.error} onRetry={session.refresh} />
      </main>
    );
  }
  if (session.status === "signed-out") {
    if (location.pathname !== "/signin") {
      const next = `${location.pathname}${location.search}`;
      return <Navigate to={`/signin?next=${encodeURIComponent(next)}`} replace />;
    }
    return <SignInPage />;
  }
  if (location.pathname === "/signin") return <Navigate to="/" replace />;

  return (
    <LiveEventsProvider enabled>
      <Layout>
        <Routes>
          <Route path="/" element={<ProjectsPage />} />
          <Route path="/projects/:slug" element={<ServicesPage />} />
          <Route path="/projects/:slug/services/new" element={<ServiceFormPage mode="create" />} />
          <Route path="/projects/:slug/services/:name" element={<ServiceDetailPage />} />
          <Route path="/projects/:slug/services/:name/edit" element={<ServiceFormPage mode="edit" />} />
          <Route path="/domains" element={<DomainsPage />} />
          <Route path="/fleet" element={<FleetPage />} />
          <Route path="/metrics" element={<MetricsPage />} />
          <Route path="/batches" element={<BatchesPage />} />
          <Route path="/events" element={<EventsPage />} />
          <Route path="/webhooks" element={<WebhooksPage />} />
          <Route path="/audit/diff" element={<DiffPage />} />
          <Route path="/projects/:slug/as-of" element={<AsOfPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </Layout>
    </LiveEventsProvider>
  );
}

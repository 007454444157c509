/** The frame around every signed-in page: brand, navigation, who is signed in. */
import type { ReactNode } from "react";
import { NavLink, useNavigate } from "react-router-dom";
import { useApi } from "../api/context";
import { useSession } from "../api/session";

const NAV = [
  { to: "/", label: "Projects", end: true },
  { to: "/domains", label: "Domains", end: false },
  { to: "/fleet", label: "Fleet", end: false },
  { to: "/metrics", label: "Metrics", end: false },
  { to: "/batches", label: "Batches", end: false },
  { to: "/events", label: "Events", end: false },
  { to: "/webhooks", label: "Webhooks", end: false },
];

export function Layout({ children }: { children: ReactNode }) {
  const session = useSession();
  const api = useApi();
  const navigate = useNavigate();

  const signOut = async () => {
    try {
      await api.logout();
    } finally {
      session.signedOut();
      navigate("/signin");
    }
  };

  return (
    <div className="app">
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="LiquidCompute home">
          <span className="brand-mark" aria-hidden="true" />
          LiquidCompute
        </NavLink>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.end}>
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          {session.status === "signed-in" && (
            <>
              <span className="who-name">{session.username}</span>
              <button type="button" className="btn btn-small btn-ghost" onClick={() => void signOut()}>
                Sign out
              </button>
            </>
          )}
        </div>
      </header>
      <main id="main" className="content" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

/** Title row of a page, with its actions on the right. */
export function PageHeader({ title, children, crumbs }: { title: string; children?: ReactNode; crumbs?: ReactNode }) {
  return (
    <div className="page-header">
      <div>
        {crumbs && <div className="crumbs">{crumbs}</div>}
        <h1>{title}</h1>
      </div>
      {children && <div className="page-actions">{children}</div>}
    </div>
  );
}

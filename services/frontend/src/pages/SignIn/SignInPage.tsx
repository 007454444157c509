/** Sign in with the platform's admin credentials (the chart's `lcd.auth.*`). */
import { useState } from "react";
import type { FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { useApi } from "../../api/context";
import { ApiError } from "../../api/problem";
import { useSession } from "../../api/session";
import { TextField } from "../../components/Field";

export function signInMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401 || error.status === 403) return "Wrong username or password.";
    if (error.status === 429) {
      return error.problem.detail
        ? `Too many failed attempts. ${error.problem.detail}`
        : "Too many failed attempts. Wait a minute, then try again.";
    }
    if (error.status === 422) return "Enter a username and a password.";
    return error.problem.detail ?? error.problem.title;
  }
  return "Cannot reach the API. Is the stack running?";
}

export function SignInPage() {
  const api = useApi();
  const session = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.login({ username, password });
      session.refresh();
      const next = params.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
    } catch (err) {
      setError(signInMessage(err));
      setPassword("");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <div className="brand brand-center">
          <span className="brand-mark" aria-hidden="true" /> LiquidCompute
        </div>
        <h1 id="signin-title">Sign in</h1>
        {error && (
          <div className="state state-error" role="alert">
            {error}
          </div>
        )}
        <TextField
          label="Username"
          name="username"
          autoComplete="username"
          autoFocus
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}

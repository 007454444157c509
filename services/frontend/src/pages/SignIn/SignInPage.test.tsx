import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { renderConsole } from "../../test/render";

const authOn = {
  "GET /api/v1/config": { body: { platformDomain: "lc.test", cnameTarget: "ingress.lc.test", authMode: "admin", version: "test" } },
  "GET /api/v1/auth/me": { status: 401, body: { title: "Authentication required", status: 401 } },
};

describe("SignInPage", () => {
  it("sends an unauthenticated user to sign in and says when the password is wrong", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/fleet", {
      ...authOn,
      "POST /api/v1/auth/login": { status: 401, body: { title: "Authentication required", status: 401, detail: "wrong username or password" } },
    });
    await user.type(await screen.findByLabelText("Username"), "admin");
    await user.type(screen.getByLabelText("Password"), "nope");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong username or password.");
    expect(screen.getByLabelText("Password")).toHaveValue("");
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ username: "admin", password: "nope" });
  });

  it("explains rate limiting", async () => {
    const user = userEvent.setup();
    renderConsole("/", {
      ...authOn,
      "POST /api/v1/auth/login": { status: 429, body: { title: "Too many attempts", status: 429, detail: "Try again in 60 seconds." } },
    });
    await user.type(await screen.findByLabelText("Username"), "admin");
    await user.type(screen.getByLabelText("Password"), "x");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Too many failed attempts. Try again in 60 seconds.");
  });
});

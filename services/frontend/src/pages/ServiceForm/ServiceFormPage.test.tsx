import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { problem } from "../../test/fakes";
import { renderConsole } from "../../test/render";

describe("ServiceFormPage", () => {
  it("shows local validation beside the field without calling the API", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/projects/default/services/new", {});
    await user.type(await screen.findByLabelText("Service name"), "Bad Name");
    await user.click(screen.getByRole("button", { name: "Deploy service" }));
    const name = screen.getByLabelText("Service name");
    expect(name).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByText("must be lowercase letters, digits and '-', starting and ending with a letter or digit")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
  });

  it("posts the product docs' inference service", async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole("/projects/default/services/new", {
      "POST /api/v1/projects/default/services": { status: 201, body: { name: "llama-3-8b" } },
    });
    await user.type(await screen.findByLabelText("Service name"), "llama-3-8b");
    await user.type(screen.getByLabelText("Model name"), "meta-llama/Llama-3.1-8B-Instruct");
    await user.selectOptions(screen.getByLabelText("Data type"), "bfloat16");
    await user.click(screen.getByRole("button", { name: "Deploy service" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({
      name: "llama-3-8b",
      tier: "inference",
      kind: { model: { modelName: "meta-llama/Llama-3.1-8B-Instruct", dtype: "bfloat16", endpoints: ["chat_completions", "completions"] } },
    });
  });

  it("places the API's field errors beside their inputs", async () => {
    const user = userEvent.setup();
    renderConsole("/projects/default/services/new", {
      "POST /api/v1/projects/default/services": problem(422, "the request has invalid fields", [
        { pointer: "/kind/container/ports/0/port", detail: "Input should be less than or equal to 65535" },
        { pointer: "/kind/container", detail: "Value error, ports must be unique" },
      ]),
    });
    await user.type(await screen.findByLabelText("Service name"), "hello");
    await user.click(screen.getByLabelText(/^cpu/));
    await user.type(screen.getByLabelText("Image"), "hashicorp/http-echo:latest");
    await user.click(screen.getByRole("button", { name: "Add port" }));
    await user.type(screen.getByLabelText("Port 1"), "8080");
    await user.click(screen.getByRole("button", { name: "Deploy service" }));
    expect(await screen.findByText("Input should be less than or equal to 65535")).toBeInTheDocument();
    expect(screen.getByLabelText("Port 1")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByText("kind.container: ports must be unique")).toBeInTheDocument();
  });
});

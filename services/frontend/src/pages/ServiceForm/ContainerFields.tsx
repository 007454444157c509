/** Inputs of a cpu/gpu container Service: image, command, ports, env, replicas, storage. */
import { TextAreaField, TextField } from "../../components/Field";
import type { FieldErrors } from "../../validation/specs";
import { PortsEditor, EnvEditor } from "./ListEditors";
import type { ServiceFormState } from "./serviceForm";

interface Props {
  form: ServiceFormState;
  errors: FieldErrors;
  set: (patch: Partial<ServiceFormState>) => void;
}

export function ContainerFields({ form, errors, set }: Props) {
  const p = "kind.container";
  return (
    <>
      <fieldset className="section">
        <legend>Container</legend>
        <TextField
          label="Image"
          name="image"
          placeholder="hashicorp/http-echo:latest"
          value={form.image}
          error={errors[`${p}.image`]}
          onChange={(e) => set({ image: e.target.value })}
        />
        <div className="row">
          <TextAreaField
            label="Command (one argument per line)"
            name="command"
            rows={3}
            placeholder={"/http-echo\n-text=hi"}
            value={form.command}
            error={errors[`${p}.command`]}
            onChange={(e) => set({ command: e.target.value })}
          />
          <TextAreaField
            label="Args (one per line)"
            name="args"
            rows={3}
            value={form.args}
            error={errors[`${p}.args`]}
            onChange={(e) => set({ args: e.target.value })}
          />
        </div>
        <PortsEditor rows={form.ports} errors={errors} onChange={(ports) => set({ ports })} />
        <EnvEditor rows={form.env} errors={errors} onChange={(env) => set({ env })} />
      </fieldset>
      <fieldset className="section">
        <legend>Scale and resources</legend>
        <div className="row">
          <TextField
            label="Replicas"
            name="replicas"
            inputMode="numeric"
            value={form.replicas}
            error={errors[`${p}.replicas`]}
            onChange={(e) => set({ replicas: e.target.value })}
          />
          <TextField
            label="CPU"
            name="cpu"
            placeholder="500m"
            value={form.cpu}
            error={errors[`${p}.resources.cpu`]}
            onChange={(e) => set({ cpu: e.target.value })}
          />
          <TextField
            label="Memory"
            name="memory"
            placeholder="512Mi"
            value={form.memory}
            error={errors[`${p}.resources.memory`]}
            onChange={(e) => set({ memory: e.target.value })}
          />
          {form.tier === "gpu" && (
            <TextField
              label="GPUs"
              name="gpus"
              inputMode="numeric"
              placeholder="1"
              value={form.gpus}
              error={errors[`${p}.resources.gpus`]}
              onChange={(e) => set({ gpus: e.target.value })}
            />
          )}
        </div>
        <label className="check">
          <input type="checkbox" name="storageEnabled" checked={form.storageEnabled} onChange={(e) => set({ storageEnabled: e.target.checked })} />
          Persistent <span className="mono">/workspace</span> volume
        </label>
        {form.storageEnabled && (
          <div className="row">
            <TextField
              label="Volume size"
              name="storageSize"
              value={form.storageSize}
              error={errors[`${p}.storage.size`]}
              onChange={(e) => set({ storageSize: e.target.value })}
            />
            <TextField
              label="Storage class"
              name="storageClass"
              placeholder="cluster default"
              value={form.storageClass}
              error={errors[`${p}.storage.storageClass`]}
              onChange={(e) => set({ storageClass: e.target.value })}
            />
          </div>
        )}
      </fieldset>
    </>
  );
}

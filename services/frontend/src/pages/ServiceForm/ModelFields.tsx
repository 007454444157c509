/** Inputs of an inference Service: the engine Model it becomes. */
import { DTYPES, ENDPOINTS, ENDPOINT_PATHS } from "../../api/types";
import type { Dtype, Endpoint } from "../../api/types";
import { SelectField, TextAreaField, TextField } from "../../components/Field";
import type { FieldErrors } from "../../validation/specs";
import type { ServiceFormState } from "./serviceForm";

interface Props {
  form: ServiceFormState;
  errors: FieldErrors;
  set: (patch: Partial<ServiceFormState>) => void;
}

export function ModelFields({ form, errors, set }: Props) {
  const p = "kind.model";
  const toggle = (e: Endpoint, on: boolean) =>
    set({ endpoints: on ? ENDPOINTS.filter((x) => x === e || form.endpoints.includes(x)) : form.endpoints.filter((x) => x !== e) });
  const endpointsError = errors[`${p}.endpoints`];
  return (
    <fieldset className="section">
      <legend>Model</legend>
      <TextField
        label="Model name"
        name="modelName"
        placeholder="meta-llama/Llama-3.1-8B-Instruct"
        value={form.modelName}
        error={errors[`${p}.modelName`]}
        hint="The upstream (Hugging Face) ID; clients send it as the request's model."
        onChange={(e) => set({ modelName: e.target.value })}
      />
      <div className="row">
        <SelectField
          label="Data type"
          name="dtype"
          value={form.dtype}
          error={errors[`${p}.dtype`]}
          onChange={(e) => set({ dtype: e.target.value as Dtype })}
        >
          {DTYPES.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </SelectField>
        <TextField
          label="GPUs per replica"
          name="modelGpus"
          inputMode="numeric"
          placeholder="1"
          value={form.modelGpus}
          error={errors[`${p}.gpus`]}
          onChange={(e) => set({ modelGpus: e.target.value })}
        />
        <TextField
          label="Replicas"
          name="modelReplicas"
          inputMode="numeric"
          placeholder="engine default"
          value={form.modelReplicas}
          error={errors[`${p}.replicas`]}
          onChange={(e) => set({ modelReplicas: e.target.value })}
        />
      </div>
      <fieldset
        className={`checks${endpointsError ? " field-invalid" : ""}`}
        aria-describedby={endpointsError ? "endpoints-error" : undefined}
      >
        <legend>Endpoints</legend>
        {ENDPOINTS.map((e) => (
          <label key={e} className="check">
            <input type="checkbox" name="endpoints" value={e} checked={form.endpoints.includes(e)} onChange={(ev) => toggle(e, ev.target.checked)} />
            {e} <span className="muted mono small">{ENDPOINT_PATHS[e]}</span>
          </label>
        ))}
        {endpointsError && (
          <div className="field-error" id="endpoints-error" role="alert">
            {endpointsError}
          </div>
        )}
      </fieldset>
      <TextAreaField
        label="Engine arguments (one per line)"
        name="modelArgs"
        rows={2}
        value={form.modelArgs}
        error={errors[`${p}.args`]}
        onChange={(e) => set({ modelArgs: e.target.value })}
      />
    </fieldset>
  );
}

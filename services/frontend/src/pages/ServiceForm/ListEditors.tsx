/** Row editors for a container's ports and environment variables. */
import type { FieldErrors } from "../../validation/specs";
import type { EnvRow, PortRow } from "./serviceForm";
import { SelectField, TextField } from "../../components/Field";

const P = "kind.container";

export function PortsEditor({ rows, errors, onChange }: { rows: PortRow[]; errors: FieldErrors; onChange: (rows: PortRow[]) => void }) {
  const update = (i: number, patch: Partial<PortRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <div className="list-editor" role="group" aria-labelledby="ports-title">
      <div className="list-head">
        <h3 id="ports-title">Ports</h3>
        <button type="button" className="btn btn-small" onClick={() => onChange([...rows, { port: "", name: rows.length ? "" : "http", protocol: "TCP" }])}>
          Add port
        </button>
      </div>
      {rows.length === 0 && <p className="muted small">No ports: the service will not be exposed over HTTP.</p>}
      {rows.map((row, i) => (
        <div className="row row-tight" key={i}>
          <TextField label={`Port ${i + 1}`} inputMode="numeric" value={row.port} error={errors[`${P}.ports.${i}.port`]} onChange={(e) => update(i, { port: e.target.value })} />
          <TextField label={`Port ${i + 1} name`} value={row.name} error={errors[`${P}.ports.${i}.name`]} onChange={(e) => update(i, { name: e.target.value })} />
          <SelectField label={`Port ${i + 1} protocol`} value={row.protocol} error={errors[`${P}.ports.${i}.protocol`]} onChange={(e) => update(i, { protocol: e.target.value as "TCP" | "UDP" })}>
            <option value="TCP">TCP</option>
            <option value="UDP">UDP</option>
          </SelectField>
          <button type="button" className="btn btn-small btn-ghost row-remove" aria-label={`Remove port ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
    </div>
  );
}

export function EnvEditor({ rows, errors, onChange }: { rows: EnvRow[]; errors: FieldErrors; onChange: (rows: EnvRow[]) => void }) {
  const update = (i: number, patch: Partial<EnvRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <div className="list-editor" role="group" aria-labelledby="env-title">
      <div className="list-head">
        <h3 id="env-title">Environment</h3>
        <button type="button" className="btn btn-small" onClick={() => onChange([...rows, { name: "", value: "" }])}>
          Add variable
        </button>
      </div>
      {rows.map((row, i) => (
        <div className="row row-tight" key={i}>
          <TextField label={`Variable ${i + 1} name`} value={row.name} error={errors[`${P}.env.${i}.name`]} onChange={(e) => update(i, { name: e.target.value })} />
          <TextField label={`Variable ${i + 1} value`} value={row.value} error={errors[`${P}.env.${i}.value`]} onChange={(e) => update(i, { value: e.target.value })} />
          <button type="button" className="btn btn-small btn-ghost row-remove" aria-label={`Remove variable ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
    </div>
  );
}

{{/* Names, labels and the pieces every workload shares. */}}

{{- define "lc.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lc.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lc.labels" -}}
{{ include "lc.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: liquidcompute
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "lc.image" -}}
{{- $tag := .image.tag | default .root.Chart.AppVersion -}}
image: {{ printf "%s:%s" .image.repository $tag | quote }}
imagePullPolicy: {{ .image.pullPolicy }}
{{- end -}}

{{/* The restricted Pod Security profile, for the pod and for each container. */}}
{{- define "lc.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "lc.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "lc.podCommon" -}}
enableServiceLinks: false
{{- with .root.Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "lc.natsUrl" -}}
{{- if .Values.nats.bundled.enabled -}}
{{- printf "nats://%s-nats:4222" (include "lc.fullname" .) -}}
{{- else -}}
{{- required "nats.url is required when nats.bundled.enabled=false" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{- define "lc.natsEnv" -}}
- name: LC_NATS_URL
  value: {{ include "lc.natsUrl" . | quote }}
{{- end -}}

{{- define "lc.authSecretName" -}}
{{- .Values.lcd.auth.existingSecret | default (printf "%s-lcd-auth" (include "lc.fullname" .)) -}}
{{- end -}}

{{- define "lc.dsnSecretName" -}}
{{- if .Values.postgres.bundled.enabled -}}
{{- printf "%s-postgres" (include "lc.fullname" .) -}}
{{- else -}}
{{- .Values.postgres.existingSecret | default (printf "%s-postgres-dsn" (include "lc.fullname" .)) -}}
{{- end -}}
{{- end -}}

{{- define "lc.proxyKeysSecretName" -}}
{{- .Values.lcProxy.existingSecret | default (printf "%s-lc-proxy-keys" (include "lc.fullname" .)) -}}
{{- end -}}

{{/* A generated secret value, kept across upgrades: the live Secret's key when it exists. */}}
{{- define "lc.keptSecret" -}}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- $kept := dig "data" .key "" ($live | default dict) -}}
{{- if $kept -}}{{ $kept | b64dec }}{{- else -}}{{ randAlphaNum (int .length) }}{{- end -}}
{{- end -}}

{{/* A writable /tmp: every root file system is read-only. */}}
{{- define "lc.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}
{{- define "lc.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

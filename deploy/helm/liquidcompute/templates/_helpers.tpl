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

{{/* A generated secret value, kept across upgrades: the live Secret's key when it exists.
Else `length` random letters and digits, or with `bytes`, that many random bytes in URL-safe
base64 (randBytes answers standard base64). */}}
{{- define "lc.keptSecret" -}}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- $kept := dig "data" .key "" ($live | default dict) -}}
{{- if $kept -}}{{ $kept | b64dec }}
{{- else if .bytes -}}{{ randBytes (int .bytes) | replace "+" "-" | replace "/" "_" }}
{{- else -}}{{ randAlphaNum (int .length) }}{{- end -}}
{{- end -}}

{{/* The Secret holding LC_SECRET_KEY, the platform key sealing project secrets. */}}
{{- define "lc.secretKeySecretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secret-key" (include "lc.fullname" .)) -}}
{{- end -}}

{{- define "lc.secretKeyEnv" -}}
- name: LC_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "lc.secretKeySecretName" . }}
      key: {{ if .Values.secrets.existingSecret }}{{ .Values.secrets.existingSecretKey }}{{ else }}secretKey{{ end }}
{{- end -}}

{{/* LC_ALLOWED_HOSTS of lcd or lc-proxy (`service`): the console's host, the names its
Service answers to in the cluster, and allowedHosts. */}}
{{- define "lc.allowedHostsEnv" -}}
{{- $svc := printf "%s-%s" (include "lc.fullname" .root) .service -}}
{{- $ns := .root.Release.Namespace -}}
{{- $hosts := list .root.Values.console.host $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $hosts = concat $hosts .root.Values.allowedHosts | compact | uniq -}}
- name: LC_ALLOWED_HOSTS
  value: {{ join "," $hosts | quote }}
{{- end -}}

{{/* LC_DOMAIN_EXPIRY_H: lcd's claim window and the verifier's verification window are one value. */}}
{{- define "lc.domainExpiryEnv" -}}
- name: LC_DOMAIN_EXPIRY_H
  value: {{ .Values.domains.expiryHours | toString | quote }}
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

{{/* LC_STREAM_REPLICAS of every program that creates streams and buckets: nats.streamReplicas,
else the bundled cluster's size, else 1. */}}
{{- define "lc.streamReplicas" -}}
{{- $bundled := .Values.nats.bundled.enabled -}}
{{- $replicas := .Values.nats.streamReplicas | default (ternary .Values.nats.bundled.replicas 1 $bundled) | int -}}
{{- if and $bundled (gt $replicas (int .Values.nats.bundled.replicas)) -}}
{{- fail (printf "nats.streamReplicas=%d is more than the bundled cluster's %d servers (nats.bundled.replicas)" $replicas (int .Values.nats.bundled.replicas)) -}}
{{- end -}}
{{- $replicas -}}
{{- end -}}

{{- define "lc.streamReplicasEnv" -}}
- name: LC_STREAM_REPLICAS
  value: {{ include "lc.streamReplicas" . | quote }}
{{- end -}}

{{/* The Secret holding LC_METRICS_TOKEN of lcd. */}}
{{- define "lc.metricsTokenSecretName" -}}
{{- .Values.metrics.existingSecret | default (printf "%s-metrics-token" (include "lc.fullname" .)) -}}
{{- end -}}

{{- define "lc.metricsTokenEnv" -}}
- name: LC_METRICS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "lc.metricsTokenSecretName" . }}
      key: {{ if .Values.metrics.existingSecret }}{{ .Values.metrics.existingSecretKey }}{{ else }}token{{ end }}
{{- end -}}

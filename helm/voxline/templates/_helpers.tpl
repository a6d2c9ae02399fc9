{{/*
Chart name, truncated to 63 characters (the DNS-1123 label limit).
*/}}
{{- define "voxline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name, plus the chart name unless the release name already contains it.
*/}}
{{- define "voxline.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "voxline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "voxline.labels" -}}
helm.sh/chart: {{ include "voxline.chart" . }}
{{ include "voxline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: voxline
{{- end }}

{{/*
Selector labels (immutable on a Deployment: never add to them).
*/}}
{{- define "voxline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "voxline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the service account to use.
*/}}
{{- define "voxline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "voxline.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Container image reference: repository:tag (tag defaults to the chart appVersion), or repository@digest.
*/}}
{{- define "voxline.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
An integer setting of `config` (values are env strings), or the service's default when it is unset.
Fails when the value is not a non-negative integer, so `int` never silently turns "30s" into 0.
Usage: include "voxline.configInt" (list . "SHUTDOWN_DRAIN_SECONDS" 30)
*/}}
{{- define "voxline.configInt" -}}
{{- $root := index . 0 }}
{{- $key := index . 1 }}
{{- $default := index . 2 }}
{{- if hasKey $root.Values.config $key }}
{{- $raw := index $root.Values.config $key | toString }}
{{- if not (regexMatch "^[0-9]+$" $raw) }}
{{- fail (printf "config.%s must be a non-negative integer string, got %q" $key $raw) }}
{{- end }}
{{- $raw | int }}
{{- else }}
{{- $default }}
{{- end }}
{{- end }}

{{/*
The port the service listens on: config.PORT (default 8080). PORT 0 (random port) is not usable in a pod.
*/}}
{{- define "voxline.port" -}}
{{- $port := include "voxline.configInt" (list . "PORT" 8080) | int }}
{{- if or (lt $port 1) (gt $port 65535) }}
{{- fail (printf "config.PORT must be between 1 and 65535 in Kubernetes, got %d" $port) }}
{{- end }}
{{- $port }}
{{- end }}

{{/*
Consistency checks that the JSON schema cannot express. Included by the Deployment.
*/}}
{{- define "voxline.validate" -}}
{{- $drain := include "voxline.configInt" (list . "SHUTDOWN_DRAIN_SECONDS" 30) | int }}
{{- $preStop := .Values.preStopSleepSeconds | int }}
{{- $grace := .Values.terminationGracePeriodSeconds | int }}
{{- if le $grace (add $drain $preStop) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be larger than config.SHUTDOWN_DRAIN_SECONDS (%d) + preStopSleepSeconds (%d); otherwise Kubernetes kills open calls before the drain ends (leave ~15s extra for closing the app)" $grace $drain $preStop) }}
{{- end }}
{{- range .Values.secrets.keys }}
{{- if hasKey $.Values.config . }}
{{- fail (printf "%s is listed in secrets.keys and also set in config; secret settings must not be rendered into the ConfigMap" .) }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (.Values.autoscaling.minReplicas | int) (.Values.autoscaling.maxReplicas | int)) }}
{{- fail "autoscaling.minReplicas must not be larger than autoscaling.maxReplicas" }}
{{- end }}
{{- end }}

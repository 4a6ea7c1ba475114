{{/* Names and labels, after `helm create`'s conventions. */}}
{{- define "infergate.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "infergate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels of one component (gateway, redis) of this release. */}}
{{- define "infergate.componentSelector" -}}
app.kubernetes.io/name: {{ include "infergate.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "infergate.componentLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "infergate.componentSelector" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{- define "infergate.selectorLabels" -}}
{{ include "infergate.componentSelector" (dict "root" . "component" "gateway") }}
{{- end -}}

{{- define "infergate.labels" -}}
{{ include "infergate.componentLabels" (dict "root" . "component" "gateway") }}
{{- end -}}

{{- define "infergate.redisSelectorLabels" -}}
{{ include "infergate.componentSelector" (dict "root" . "component" "redis") }}
{{- end -}}

{{- define "infergate.redisLabels" -}}
{{ include "infergate.componentLabels" (dict "root" . "component" "redis") }}
{{- end -}}

{{- define "infergate.secretName" -}}
{{- default (printf "%s-keys" (include "infergate.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "infergate.redisName" -}}
{{- printf "%s-redis" (include "infergate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* At most one autoscaler, one Redis; checked once, by every template that depends on it. */}}
{{- define "infergate.validate" -}}
{{- if and .Values.autoscaling.keda.enabled .Values.autoscaling.hpa.enabled -}}
{{- fail "autoscaling: enable keda or hpa, not both (two autoscalers would fight over the replica count)" -}}
{{- end -}}
{{- if and .Values.redis.url .Values.redis.inChart.enabled -}}
{{- fail "redis: give an external url or enable inChart, not both" -}}
{{- end -}}
{{- if and .Values.redis.url .Values.redis.urlSecret.name -}}
{{- fail "redis: give the url in redis.url or in redis.urlSecret, not both" -}}
{{- end -}}
{{- if and (not .Values.secrets.existingSecret) (not .Values.secrets.apiKeys) -}}
{{- fail "secrets: set secrets.apiKeys or secrets.existingSecret (the gateway listens off loopback, so it requires API keys)" -}}
{{- end -}}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) -}}
{{- fail "autoscaling: minReplicas is above maxReplicas" -}}
{{- end -}}
{{- end -}}

{{- define "infergate.autoscaled" -}}
{{- if or .Values.autoscaling.keda.enabled .Values.autoscaling.hpa.enabled -}}true{{- end -}}
{{- end -}}

{{- define "infergate.redisUrl" -}}
{{- if .Values.redis.inChart.enabled -}}
{{- printf "redis://%s:6379" (include "infergate.redisName" .) -}}
{{- else -}}
{{- .Values.redis.url -}}
{{- end -}}
{{- end -}}

{{/* The gateway's config: the user's, with where to listen and the Redis the chart knows of — for a redis cache
and as `shared_state` (rate-limit windows and circuit breakers, shared by the replicas). */}}
{{- define "infergate.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $server := merge (dict "host" "0.0.0.0" "port" 8080) (default (dict) $config.server) -}}
{{- $_ := set $server "host" "0.0.0.0" -}}
{{- $_ := set $server "port" 8080 -}}
{{- $_ := set $config "server" $server -}}
{{- $redisUrl := include "infergate.redisUrl" . -}}
{{- $shared := list -}}
{{- if and $config.cache (eq (toString $config.cache.store) "redis") -}}{{- $shared = append $shared $config.cache -}}{{- end -}}
{{- if or $redisUrl .Values.redis.urlSecret.name -}}
{{- $state := default (dict) $config.shared_state -}}
{{- $_ := set $config "shared_state" $state -}}
{{- $shared = append $shared $state -}}
{{- end -}}
{{- range $section := $shared -}}
{{- if $.Values.redis.urlSecret.name -}}
{{- $_ := set $section "redis_url_env" "INFERGATE_REDIS_URL" -}}
{{- else -}}
{{- $_ := set $section "redis_url" $redisUrl -}}
{{- end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* Seconds SIGTERM may take: the drain, after preStop, plus a margin. */}}
{{- define "infergate.drainSeconds" -}}
{{- $server := default (dict) .Values.config.server -}}
{{- div (int (default 30000 $server.drain_timeout_ms)) 1000 -}}
{{- end -}}

{{/* The load queries the autoscalers use: in-flight requests and queue depth, summed over this release's pods. */}}
{{- define "infergate.loadQuery" -}}
sum(infergate_{{ .metric }}{namespace="{{ .root.Release.Namespace }}",service="{{ include "infergate.fullname" .root }}"})
{{- end -}}

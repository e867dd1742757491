{{/* Names and labels shared by every template. */}}

{{- define "converge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-converge, or just <release> when it already says converge. */}}
{{- define "converge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "converge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "converge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "converge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "converge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: converge
{{- end -}}

{{- define "converge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "converge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "converge.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Lease name is fixed by the operator (one leader per release namespace). */}}
{{- define "converge.leaseName" -}}
{{- if .Values.sharding.shard -}}converge-leader-{{ .Values.sharding.shard }}{{- else -}}converge-leader{{- end -}}
{{- end -}}

{{/* --label-selector: the shard's own label, or (default release of a sharded install) no shard label; plus labelSelector. */}}
{{- define "converge.labelSelector" -}}
{{- $parts := list -}}
{{- if .Values.sharding.shard -}}
{{- $parts = append $parts (printf "gitops.converge.dev/shard=%s" .Values.sharding.shard) -}}
{{- else if .Values.sharding.enabled -}}
{{- $parts = append $parts "!gitops.converge.dev/shard" -}}
{{- end -}}
{{- with .Values.labelSelector -}}
{{- $parts = append $parts . -}}
{{- end -}}
{{- join "," $parts -}}
{{- end -}}

{{/* Fails the render early on combinations the schema cannot express well. */}}
{{/* The push webhook receiver runs when some secret can sign requests: "true" or "". */}}
{{- define "converge.webhookEnabled" -}}
{{- if or .Values.webhook.secretName .Values.webhook.namespaceSecretName -}}true{{- end -}}
{{- end -}}

{{- define "converge.validate" -}}
{{- if and .Values.webhook.ingress.enabled (not .Values.webhook.ingress.host) -}}
{{- fail "webhook.ingress.host: the Ingress needs the host name your Git host posts to" -}}
{{- end -}}
{{- if and .Values.webhook.ingress.enabled (not (and (include "converge.webhookEnabled" .) .Values.webhook.service.enabled)) -}}
{{- fail "webhook.ingress.enabled: needs webhook.secretName (or namespaceSecretName) and webhook.service.enabled" -}}
{{- end -}}
{{- if and (eq .Values.rbac.mode "tenant") (not .Values.rbac.tenantNamespaces) -}}
{{- fail "rbac.tenantNamespaces: tenant mode needs at least one namespace the operator may deploy into" -}}
{{- end -}}
{{- if and .Values.ui.enabled (or .Values.ui.service.enabled .Values.ui.ingress.enabled) (not .Values.ui.tokenSecret.name) -}}
{{- fail "ui.tokenSecret.name: a status page reachable through a Service or Ingress needs a token Secret (without one it answers only port-forward)" -}}
{{- end -}}
{{- if and .Values.ui.ingress.enabled (not .Values.ui.ingress.host) -}}
{{- fail "ui.ingress.host: the Ingress needs a host name" -}}
{{- end -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "leaderElection.enabled: must be true when replicas > 1, or every replica would reconcile the same GitSources" -}}
{{- end -}}
{{- end -}}

{{/* The status page leaves the pod's loopback only when a Service or Ingress is to reach it. */}}
{{- define "converge.uiExposed" -}}
{{- if and .Values.ui.enabled (or .Values.ui.service.enabled .Values.ui.ingress.enabled) -}}true{{- end -}}
{{- end -}}

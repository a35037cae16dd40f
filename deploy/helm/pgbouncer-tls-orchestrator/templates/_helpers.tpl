{{/* Names and labels shared by every template. */}}
{{- define "pgbtls.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pgbtls.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Pod selector of one component; call with (dict "root" $ "component" "worker"). */}}
{{- define "pgbtls.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "pgbtls.serviceAccountName" -}}
{{- printf "%s-%s" (include "pgbtls.fullname" .root) .component -}}
{{- end -}}

{{- define "pgbtls.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The namespaces the product manages in namespaced mode; fails early on an empty list. */}}
{{- define "pgbtls.namespaces" -}}
{{- if eq .Values.rbac.mode "namespaced" -}}
{{- if not .Values.rbac.namespaces -}}
{{- fail "rbac.namespaces: namespaced mode needs at least one namespace to manage; list them, or set rbac.mode=cluster" -}}
{{- end -}}
{{- join "," .Values.rbac.namespaces -}}
{{- else if ne .Values.rbac.mode "cluster" -}}
{{- fail (printf "rbac.mode: %q is not a mode; use cluster or namespaced" .Values.rbac.mode) -}}
{{- end -}}
{{- end -}}

{{/*
RBAC rules per component, on namespaced resources. Cluster mode grants them in a ClusterRole,
namespaced mode in a Role per managed namespace. Every verb is one the code calls; README.md
says which call needs it. No wildcards, no escalate/bind/impersonate.
*/}}
{{- define "pgbtls.rules.worker" -}}
- apiGroups: [kubedb.com]
  resources: [pgbouncers]
  verbs: [get, patch]
- apiGroups: [kubedb.com]
  resources: [pgbouncers/status]
  verbs: [patch]
- apiGroups: [ops.kubedb.com]
  resources: [pgbounceropsrequests]
  verbs: [get, list, watch, create]
- apiGroups: [ops.kubedb.com]
  resources: [pgbounceropsrequests/status]
  verbs: [patch]
- apiGroups: [cert-manager.io]
  resources: [issuers]
  verbs: [get]
- apiGroups: [appcatalog.appscode.com]
  resources: [appbindings]
  verbs: [get]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, create, update, patch, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, patch]
- apiGroups: [""]
  resources: [pods/eviction]
  verbs: [create]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, patch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update, delete]
{{- end -}}

{{- define "pgbtls.rules.watcher" -}}
- apiGroups: [ops.kubedb.com]
  resources: [pgbounceropsrequests]
  verbs: [get, list, watch]
- apiGroups: [kubedb.com]
  resources: [pgbouncers]
  verbs: [list, watch]
{{- end -}}

{{- define "pgbtls.rules.provisioner" -}}
- apiGroups: [kubedb.com]
  resources: [pgbouncers]
  verbs: [get, list, watch]
- apiGroups: [kubedb.com]
  resources: [pgbouncers/status]
  verbs: [patch]
- apiGroups: [appcatalog.appscode.com]
  resources: [appbindings]
  verbs: [get]
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [services]
  verbs: [get, create, patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create, patch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, create, patch, delete]
{{- end -}}

{{/* Environment every component shares. */}}
{{- define "pgbtls.commonEnv" -}}
- name: PGBTLS_HEALTH_ADDRESS
  value: "0.0.0.0:{{ .Values.healthPort }}"
{{- if eq .Values.rbac.mode "namespaced" }}
- name: PGBTLS_WATCH_NAMESPACES
  value: {{ include "pgbtls.namespaces" . | quote }}
{{- end }}
{{- end -}}

{{/* How the worker and the watcher reach Temporal: the @temporalio/envconfig variables. */}}
{{- define "pgbtls.temporalEnv" -}}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: PGBTLS_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
{{- with .Values.temporal.apiKeySecret }}
{{- if .name }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef: { name: {{ .name | quote }}, key: {{ .key | quote }} }
{{- end }}
{{- end }}
{{- with .Values.temporal.mtls }}
{{- if .secretName }}
- name: TEMPORAL_TLS
  value: "true"
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /etc/temporal-tls/tls.crt
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /etc/temporal-tls/tls.key
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: /etc/temporal-tls/ca.crt
{{- if .serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ .serverName | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

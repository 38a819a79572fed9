{{/* Chart name, cut to 63 characters (a DNS label). */}}
{{- define "syncd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name prefix: `<release>-<chart>`, or the release name when it already contains the chart name. */}}
{{- define "syncd.fullname" -}}
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

{{/* `name-version` for the helm.sh/chart label. */}}
{{- define "syncd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object the chart creates. */}}
{{- define "syncd.labels" -}}
helm.sh/chart: {{ include "syncd.chart" . }}
{{ include "syncd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods (immutable on a Deployment: never add to them). */}}
{{- define "syncd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "syncd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "syncd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "syncd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* `repository:tag` (tag defaults to appVersion), or `repository@digest`. */}}
{{- define "syncd.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The config file syncd reads, as YAML: `.Values.config` plus what the chart decides.
- server.port is the Service's port, so probes, Service and ServiceMonitor agree.
- leader_election.enabled: off for the CronJob (`syncd sync` never elects); on when replicas > 1;
  otherwise what the config says, and when it says nothing, on with the kubernetes target (syncd's
  own default, made explicit so the Lease RBAC follows it).
- leader_election.namespace: the release namespace unless given, so the Lease sits next to syncd.
Every template that needs a setting from the config reads it back from here (one source of truth).
*/}}
{{- define "syncd.config" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $target := $config.target | default dict }}
{{- if not $target.type }}{{- $_ := set $target "type" "kubernetes" }}{{- end }}
{{- if not $target.namespace }}{{- $_ := set $target "namespace" "istio-system" }}{{- end }}
{{- $_ := set $config "target" $target }}
{{- $server := $config.server | default dict }}
{{- $_ := set $server "port" (int .Values.service.port) }}
{{- $_ := set $config "server" $server }}
{{- $election := $config.leader_election | default dict }}
{{- if eq .Values.mode "cronjob" }}
{{- $_ := set $election "enabled" false }}
{{- else if gt (int .Values.replicas) 1 }}
{{- $_ := set $election "enabled" true }}
{{- else if not (kindIs "bool" $election.enabled) }}
{{- $_ := set $election "enabled" (eq $target.type "kubernetes") }}
{{- end }}
{{- if $election.enabled }}
{{- if not $election.namespace }}{{- $_ := set $election "namespace" .Release.Namespace }}{{- end }}
{{- if not $election.lease_name }}{{- $_ := set $election "lease_name" "syncd" }}{{- end }}
{{- end }}
{{- $_ := set $config "leader_election" $election }}
{{- toYaml $config }}
{{- end }}

{{/* The Istio resources syncd may write: by `features`, or because the config produces them
(a traffic_policy anywhere → DestinationRules; an endpoint_mode other than inline →
WorkloadEntries), so a config change can never leave syncd unable to list what it manages. */}}
{{- define "syncd.istioResources" -}}
{{- $config := .Values.config | default dict }}
{{- $rules := or .Values.features.destinationRules (hasKey $config "traffic_policy") (eq (toString (get $config "manage_destination_rules")) "true") }}
{{- $workloads := or .Values.features.workloadEntries (eq (toString (get $config "manage_workload_entries")) "true") }}
{{- range $adapter := ($config.adapters | default list) }}
{{- if hasKey $adapter "traffic_policy" }}{{- $rules = true }}{{- end }}
{{- if and (hasKey $adapter "endpoint_mode") (ne (toString $adapter.endpoint_mode) "inline") }}{{- $workloads = true }}{{- end }}
{{- end }}
{{- $resources := list "serviceentries" }}
{{- if $rules }}{{- $resources = append $resources "destinationrules" }}{{- end }}
{{- if $workloads }}{{- $resources = append $resources "workloadentries" }}{{- end }}
{{- toJson $resources }}
{{- end }}

{{/* The RBAC rule for the Istio objects syncd owns: exactly the verbs it uses, no wildcard. */}}
{{- define "syncd.istioRules" -}}
- apiGroups: ["networking.istio.io"]
  resources: {{ include "syncd.istioResources" . }}
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
{{- end }}

{{/*
The pod template shared by the Deployment and the CronJob.
Call with (dict "root" $ "command" "run"|"sync").
*/}}
{{- define "syncd.podTemplate" -}}
{{- $root := .root }}
{{- $daemon := eq .command "run" }}
{{- with $root -}}
metadata:
  annotations:
    checksum/config: {{ include (print $.root.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  labels:
    {{- include "syncd.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "syncd.serviceAccountName" . }}
  automountServiceAccountToken: true
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- if not $daemon }}
  restartPolicy: Never
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: syncd
      image: {{ include "syncd.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command: ["syncd"]
      args:
        - {{ $.command }}
        - -c
        - /etc/syncd/config.yaml
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        {{- with .Values.consul.tokenSecret.name }}
        - name: CONSUL_HTTP_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ . }}
              key: {{ $root.Values.consul.tokenSecret.key }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.extraEnvFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $daemon }}
      ports:
        - name: http-metrics
          containerPort: {{ .Values.service.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: http-metrics
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: http-metrics
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/syncd/config.yaml
          subPath: config.yaml
          readOnly: true
        - name: config
          mountPath: /etc/syncd/registry.yaml
          subPath: registry.yaml
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- if .Values.consul.tlsSecret.name }}
        - name: consul-tls
          mountPath: /etc/syncd/consul-tls
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "syncd.fullname" . }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with .Values.consul.tlsSecret.name }}
    - name: consul-tls
      secret:
        secretName: {{ . }}
        defaultMode: 0440
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if $daemon }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end }}

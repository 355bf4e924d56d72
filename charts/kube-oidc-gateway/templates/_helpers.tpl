{{/*
Names and labels follow `helm create`'s conventions, so the objects look like every other chart's.
*/}}
{{- define "kube-oidc-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kube-oidc-gateway.fullname" -}}
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

{{- define "kube-oidc-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kube-oidc-gateway.labels" -}}
helm.sh/chart: {{ include "kube-oidc-gateway.chart" . }}
{{ include "kube-oidc-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kube-oidc-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-oidc-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kube-oidc-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kube-oidc-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kube-oidc-gateway.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "kube-oidc-gateway.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{- define "kube-oidc-gateway.bundleName" -}}
{{- default (printf "%s-ca-bundle" (include "kube-oidc-gateway.fullname" .)) .Values.trustBundle.name }}
{{- end }}

{{- define "kube-oidc-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the one projected volume of config, certificate and secrets is mounted. */}}
{{- define "kube-oidc-gateway.configDir" -}}/etc/kube-oidc-gateway{{- end }}

{{/*
"true" when the API listener is on (apiListener.enabled, where auto means: config.dashboard-upstream
is set), else "". Also refuses ports that collide: the pod would fail to listen, or the Service
would name one port twice.
*/}}
{{- define "kube-oidc-gateway.apiListener" -}}
{{- $enabled := .Values.apiListener.enabled }}
{{- $on := false }}
{{- if eq (toString $enabled) "auto" }}
{{- if and .Values.config (index .Values.config "dashboard-upstream") }}{{ $on = true }}{{ end }}
{{- else if kindIs "bool" $enabled }}
{{- $on = $enabled }}
{{- else }}
{{- fail (printf "apiListener.enabled must be auto, true or false, not %v" $enabled) }}
{{- end }}
{{- if $on }}
{{- if has (int .Values.ports.api) (list (int .Values.ports.https) (int .Values.ports.health)) }}
{{- fail (printf "ports.api (%d) must differ from ports.https and ports.health: the API listener is a port of its own" (int .Values.ports.api)) }}
{{- end }}
{{- $servicePorts := list (int .Values.service.port) }}
{{- if or .Values.service.metricsPort.enabled .Values.serviceMonitor.enabled }}{{ $servicePorts = append $servicePorts (int .Values.service.metricsPort.port) }}{{ end }}
{{- if has (int .Values.service.apiPort) $servicePorts }}
{{- fail (printf "service.apiPort (%d) must differ from the Service's other ports (service.port, service.metricsPort.port)" (int .Values.service.apiPort)) }}
{{- end }}
{{- print "true" }}
{{- end }}
{{- end }}

{{/*
The settings the chart owns: they must agree with the container's ports, the probes, the Service
and the mounted files, so values cannot set them in .Values.config (the schema leaves them out;
this check also covers installs that skip schema validation).
*/}}
{{- define "kube-oidc-gateway.managedKeys" -}}
{{- $keys := list "config" "secure-port" "health-port" "api-port" "readiness-probe-port" "tls-cert-file" "tls-private-key-file" "kubeconfig" }}
{{- if or .Values.issuerCA.configMap .Values.issuerCA.secret }}{{ $keys = append $keys "oidc-ca-file" }}{{ end }}
{{- if .Values.authenticationConfiguration }}{{ $keys = append $keys "authentication-config" }}{{ end }}
{{- if .Values.auditPolicy }}{{ $keys = append $keys "audit-policy-file" }}{{ end }}
{{- if .Values.session.clientSecret.secretName }}{{ $keys = append $keys "session-client-secret-file" }}{{ end }}
{{- if .Values.session.cookieSecret.secretName }}{{ $keys = append $keys "session-cookie-secret-file" }}{{ end }}
{{- if .Values.session.redisPassword.secretName }}{{ $keys = append $keys "session-redis-password-file" }}{{ end }}
{{- if .Values.session.redisSentinelPassword.secretName }}{{ $keys = append $keys "session-redis-sentinel-password-file" }}{{ end }}
{{- if or .Values.session.redisCA.configMap .Values.session.redisCA.secret }}{{ $keys = append $keys "session-redis-ca-file" }}{{ end }}
{{- toJson $keys }}
{{- end }}

{{/*
The config.yaml the gateway reads: .Values.config without empty strings (an explicit "" would count
as set: an empty oidc-* key conflicts with authentication-config, an empty session-* key needs
session-client-id), plus the chart's own settings.
*/}}
{{- define "kube-oidc-gateway.config" -}}
{{- $dir := include "kube-oidc-gateway.configDir" . }}
{{- $managed := include "kube-oidc-gateway.managedKeys" . | fromJsonArray }}
{{- $config := dict }}
{{- range $key, $value := .Values.config }}
{{- if has $key $managed }}
{{- fail (printf "config.%s is set by the chart (see ports, apiListener, tls, issuerCA, authenticationConfiguration, auditPolicy and session in values.yaml); remove it from config" $key) }}
{{- end }}
{{- if not (and (kindIs "string" $value) (eq $value "")) }}
{{- $_ := set $config $key $value }}
{{- end }}
{{- end }}
{{- $_ := set $config "secure-port" (int .Values.ports.https) }}
{{- $_ = set $config "health-port" (int .Values.ports.health) }}
{{- if include "kube-oidc-gateway.apiListener" . }}
{{- $_ = set $config "api-port" (int .Values.ports.api) }}
{{- end }}
{{- $_ = set $config "tls-cert-file" (printf "%s/tls/tls.crt" $dir) }}
{{- $_ = set $config "tls-private-key-file" (printf "%s/tls/tls.key" $dir) }}
{{- if or .Values.issuerCA.configMap .Values.issuerCA.secret }}
{{- $_ = set $config "oidc-ca-file" (printf "%s/issuer-ca/ca.crt" $dir) }}
{{- end }}
{{- if .Values.authenticationConfiguration }}
{{- $_ = set $config "authentication-config" (printf "%s/authentication-config.yaml" $dir) }}
{{- end }}
{{- if .Values.auditPolicy }}
{{- $_ = set $config "audit-policy-file" (printf "%s/audit-policy.yaml" $dir) }}
{{- end }}
{{- if .Values.session.clientSecret.secretName }}
{{- $_ = set $config "session-client-secret-file" (printf "%s/session/client-secret" $dir) }}
{{- end }}
{{- if .Values.session.cookieSecret.secretName }}
{{- $_ = set $config "session-cookie-secret-file" (printf "%s/session/cookie-secret" $dir) }}
{{- end }}
{{- if .Values.session.redisPassword.secretName }}
{{- $_ = set $config "session-redis-password-file" (printf "%s/session/redis-password" $dir) }}
{{- end }}
{{- if .Values.session.redisSentinelPassword.secretName }}
{{- $_ = set $config "session-redis-sentinel-password-file" (printf "%s/session/redis-sentinel-password" $dir) }}
{{- end }}
{{- if or .Values.session.redisCA.configMap .Values.session.redisCA.secret }}
{{- $_ = set $config "session-redis-ca-file" (printf "%s/session/redis-ca.crt" $dir) }}
{{- end }}
{{- /* JSON (which is YAML): serve reads a JSON config file without loading the YAML library,
~8.5 MiB of the gateway's idle RSS (src/config/lazy-libraries.ts). */}}
{{- toPrettyJson $config }}
{{- end }}

{{/*
The URLs the gateway fetches from each issuer, as a JSON list: config.oidc-issuer-url, and each
authenticationConfiguration jwt[] issuer's discoveryURL when set, its url otherwise (kube-apiserver
fetches discovery from discoveryURL instead of <url>/.well-known/openid-configuration:
https://kubernetes.io/docs/reference/access-authn-authz/authentication/#using-authentication-configuration).
Browser sessions discover the login issuer from its URL itself (src/session/issuer-client.ts):
config.session-issuer-url, or with config.session-client-id and no session-issuer-url, the one
jwt[] issuer's url (src/config/session-config.ts), which its discoveryURL does not cover.
*/}}
{{- define "kube-oidc-gateway.issuerFetchURLs" -}}
{{- $urls := list }}
{{- $config := .Values.config | default dict }}
{{- with index $config "oidc-issuer-url" }}{{ $urls = append $urls . }}{{ end }}
{{- $jwt := list }}
{{- with .Values.authenticationConfiguration }}{{ $jwt = .jwt | default list }}{{ end }}
{{- range $jwt }}
{{- $issuer := (kindIs "map" .) | ternary (.issuer | default dict) dict }}
{{- with ($issuer.discoveryURL | default $issuer.url) }}{{ $urls = append $urls . }}{{ end }}
{{- end }}
{{- with index $config "session-issuer-url" }}
{{- $urls = append $urls . }}
{{- else }}
{{- if and (index $config "session-client-id") (eq (len $jwt) 1) (kindIs "map" (first $jwt)) }}
{{- with ((first $jwt).issuer | default dict).url }}{{ $urls = append $urls . }}{{ end }}
{{- end }}
{{- end }}
{{- toJson ($urls | uniq) }}
{{- end }}

{{/*
The issuer hosts that name a Service in the cluster, as a JSON list: <name>.<namespace>.svc,
<name>.<namespace>.svc.<cluster domain>, or a bare <name> (the pod's own namespace). Network
policies see such traffic after the Service translation, at the pods' port, so an egress rule on
the Service's port drops it. A two-label host (<name>.<namespace>) is not counted: it cannot be
told from a public name like gitlab.com, a real issuer.
*/}}
{{- define "kube-oidc-gateway.inClusterIssuerHosts" -}}
{{- $hosts := list }}
{{- range (include "kube-oidc-gateway.issuerFetchURLs" . | fromJsonArray) }}
{{- with (include "kube-oidc-gateway.inClusterHost" .) }}{{ $hosts = append $hosts . }}{{ end }}
{{- end }}
{{- toJson ($hosts | uniq) }}
{{- end }}

{{/* The host of the issuer URL given as the context, lower-case, when it names a Service in the cluster (see above), else "". */}}
{{- define "kube-oidc-gateway.inClusterHost" -}}
{{- $host := (urlParse .).hostname | lower }}
{{- if and $host (not (contains ":" $host)) (ne $host "localhost") (or (not (contains "." $host)) (hasSuffix ".svc" $host) (contains ".svc." $host)) }}
{{- $host }}
{{- end }}
{{- end }}

{{/*
"true" when an issuer URL's host is outside the cluster, else "" (also with no URL in the values, an
issuer from extraEnv: the policies then keep the default issuer egress unless issuer.inCluster is
set). Counts the URLs whose host is not a Service, not URLs against hosts: two realms on one
in-cluster host are two URLs but one host, and still no issuer outside.
*/}}
{{- define "kube-oidc-gateway.externalIssuer" -}}
{{- $urls := include "kube-oidc-gateway.issuerFetchURLs" . | fromJsonArray }}
{{- $external := false }}
{{- range $urls }}{{ if not (include "kube-oidc-gateway.inClusterHost" .) }}{{ $external = true }}{{ end }}{{ end }}
{{- if $external }}true{{ end }}
{{- end }}

{{/*
"true" when issuer.inCluster names the issuer's pods (namespace, podSelector and port all set),
else "". Fails when an issuer host is an in-cluster Service, a network policy is rendered, and
they are not set: the policy would allow the Service's port, which is never what the pods see.
*/}}
{{- define "kube-oidc-gateway.inClusterIssuer" -}}
{{- $in := .Values.issuer.inCluster }}
{{- $set := and $in.namespace $in.podSelector $in.port }}
{{- if and (not $set) (or $in.namespace $in.podSelector $in.port) }}
{{- fail "issuer.inCluster needs all of namespace, podSelector and port (the issuer's pods and the port they listen on)" }}
{{- end }}
{{- $hosts := include "kube-oidc-gateway.inClusterIssuerHosts" . | fromJsonArray }}
{{- if and $hosts (not $set) (or .Values.networkPolicy.enabled .Values.ciliumNetworkPolicy.enabled) }}
{{- fail (printf "the issuer %s is a Service in the cluster: network policies see its pods' port after the Service translation, not the Service's, so set issuer.inCluster.namespace, issuer.inCluster.podSelector (the issuer pods' labels) and issuer.inCluster.port (the pods' port, the Service's targetPort, e.g. 8443 for Keycloak) for the egress rules (docs/helm.md, In-cluster issuer)" (join ", " $hosts)) }}
{{- end }}
{{- if $set }}true{{ end }}
{{- end }}

{{/*
Values without which the Deployment cannot work, refused at `helm template` with the value to set:
Argo CD and other GitOps tools show no NOTES, so a warning there goes unseen while the pods
crash-loop or never pull. An issuer may also come from extraEnv (KOG_OIDC_ISSUER_URL or
KOG_AUTHENTICATION_CONFIG, e.g. from a Secret), which counts as set. Every problem is gathered
into one message, so one render names all of them rather than the next one after each fix. The
Redis URLs' passwords are refused here too (kube-oidc-gateway.redisCredentials).
*/}}
{{- define "kube-oidc-gateway.validate" -}}
{{- $problems := list }}
{{- $repository := .Values.image.repository | default "" }}
{{- $registry := regexReplaceAll "/.*$" $repository "" }}
{{- if not $repository }}
{{- $problems = append $problems "image.repository is empty: set it to the image you built from the repository's Dockerfile and pushed (its last path element kube-oidc-gateway), e.g. --set image.repository=<your registry>/kube-oidc-gateway" }}
{{- else if regexMatch "(^|\\.)example\\.(com|org|net)$" $registry }}
{{- $problems = append $problems (printf "image.repository is the placeholder %s: no image is published; build the repository's Dockerfile, push it to your registry and set image.repository to it (its last path element kube-oidc-gateway), e.g. --set image.repository=<your registry>/kube-oidc-gateway" $repository) }}
{{- end }}
{{- $envNames := list }}
{{- range .Values.extraEnv }}{{ if kindIs "map" . }}{{ $envNames = append $envNames (.name | default "") }}{{ end }}{{ end }}
{{- $config := .Values.config | default dict }}
{{- $issuerURL := or (index $config "oidc-issuer-url") (has "KOG_OIDC_ISSUER_URL" $envNames) }}
{{- $clientID := or (index $config "oidc-client-id") (has "KOG_OIDC_CLIENT_ID" $envNames) }}
{{- $authenticationConfig := or .Values.authenticationConfiguration (has "KOG_AUTHENTICATION_CONFIG" $envNames) }}
{{- if not (or $issuerURL $authenticationConfig) }}
{{- $problems = append $problems "no issuer: set config.oidc-issuer-url and config.oidc-client-id (or authenticationConfiguration); the gateway verifies every token against it and does not start without one" }}
{{- else if and $issuerURL (not $clientID) (not $authenticationConfig) }}
{{- $problems = append $problems "config.oidc-client-id is not set: set it with config.oidc-issuer-url (the audience the id tokens carry)" }}
{{- end }}
{{- $problems = concat $problems (include "kube-oidc-gateway.redisCredentials" . | fromJsonArray) }}
{{- if eq (len $problems) 1 }}
{{- fail (first $problems) }}
{{- else if $problems }}
{{- fail (printf "%d problems with the values:\n- %s" (len $problems) (join "\n- " $problems)) }}
{{- end }}
{{- end }}

{{/*
Credentials in the Redis URLs, as a JSON list of problems (never the URL itself: it holds the
secret). config is written to a ConfigMap, which any reader of the namespace's ConfigMaps sees;
the passwords belong in Secrets: session.redisPassword (session-redis-password-file) and
session.redisSentinelPassword (session-redis-sentinel-password-file), the users in
config.session-redis-username and config.session-redis-sentinel-username.
- session-redis-url: refused when its userinfo has a password (user:password@ or :password@); a
  user alone (redis://user@host) is no secret and stays allowed, as serve allows it.
- the sentinel and cluster connection URLs (a list or a comma string): refused with any userinfo,
  as serve refuses it (src/config/serve-config.ts redisNode).
The URL's userinfo is what precedes its last "@" after the scheme (RFC 3986 section 3.2.1: the
userinfo ends at the "@" before the host). Regular expressions rather than Sprig's urlParse:
urlParse fails on a URL Go's net/url cannot parse (e.g. a raw "/" or "%" in the password) with
an error that quotes the whole URL, password included.
*/}}
{{- define "kube-oidc-gateway.redisCredentials" -}}
{{- $problems := list }}
{{- $config := .Values.config | default dict }}
{{- $url := index $config "session-redis-url" }}
{{- if and (kindIs "string" $url) (contains "@" $url) }}
{{- $userinfo := regexReplaceAll "@[^@]*$" (regexReplaceAll "^[A-Za-z][A-Za-z0-9+.-]*://" $url "") "" }}
{{- if contains ":" $userinfo }}
{{- $problems = append $problems "config.session-redis-url carries a password (user:password@ in the URL), which would be written to the ConfigMap: remove it from the URL and put the password in a Secret named by session.redisPassword (secretName, key), and the user, if any, in config.session-redis-username" }}
{{- end }}
{{- end }}
{{- range $key := list "session-redis-sentinel-connection-urls" "session-redis-cluster-connection-urls" }}
{{- $entries := include "kube-oidc-gateway.list" (index $config $key) | fromJsonArray }}
{{- $bad := list }}
{{- range $i, $entry := $entries }}{{ if contains "@" $entry }}{{ $bad = append $bad (add1 $i | toString) }}{{ end }}{{ end }}
{{- if $bad }}
{{- $sentinel := eq $key "session-redis-sentinel-connection-urls" }}
{{- $problems = append $problems (printf "config.%s, %s %s: a user or password in the URL (userinfo@) would be written to the ConfigMap, and serve refuses it: give host:port, redis://host:port or rediss://host:port, put the data nodes' password in a Secret named by session.redisPassword and their user in config.session-redis-username%s" $key ((gt (len $bad) 1) | ternary "entries" "entry") (join ", " $bad) ($sentinel | ternary " (the sentinels' own in session.redisSentinelPassword and config.session-redis-sentinel-username)" "")) }}
{{- end }}
{{- end }}
{{- toJson $problems }}
{{- end }}

{{/*
A list value as a JSON list of strings, whatever form --set gave it: a list, one value (a number
from --set x=8443), or a string of values separated by commas (--set x=443\,6443). The schema
allows these forms (scripts/generate-chart-schema.ts ports).
*/}}
{{- define "kube-oidc-gateway.list" -}}
{{- $items := list }}
{{- if kindIs "slice" . }}
{{- range . }}{{ $items = append $items (toString .) }}{{ end }}
{{- else if kindIs "string" . }}
{{- range (splitList "," .) }}{{ if . }}{{ $items = append $items . }}{{ end }}{{ end }}
{{- else if not (kindIs "invalid" .) }}
{{- $items = append $items (toString .) }}
{{- end }}
{{- toJson $items }}
{{- end }}

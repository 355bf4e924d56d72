# kube-oidc-gateway's container image: the built JavaScript, the docs its doctor and lint link to,
# package.json and the production dependencies, on the official Node 24 image, run as a non-root
# user. Build from a clone:  docker build -t kube-oidc-gateway .
#
# Base image: pinned by tag. Pin it by digest too (node:24.21.0-trixie-slim@sha256:…) where images
# are built for release: the digest could not be resolved where this file was written (no access
# to the image registry), and a made-up one would only break the build.

# --- build: all dependencies, tsc's JavaScript into dist/, then the dev dependencies removed ---
FROM node:24.21.0-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency's install script runs here. The only one in the lock file is the
# `node` dev dependency's, which fetches the Node binary the repository develops with; skipped, it
# links no node_modules/.bin/node, so npm run uses this image's Node 24.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-package.ts scripts/
COPY src/ src/
# dist/bin: the package's executables by name, on the image's PATH. kube-oidc-proxy's manifests
# set `command: ["kube-oidc-proxy"]`, which replaces the entrypoint and is looked up in PATH.
# dist/serve-defaults.yaml: the image's own defaults for `serve` (CMD below), as a --config file,
# written in JSON (which is YAML): serve reads JSON without loading the YAML library, ~8.5 MiB of
# idle RSS (src/config/lazy-libraries.ts).
RUN npm run build \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && mkdir dist/bin \
  && ln -s ../cli/kube-oidc-gateway.js dist/bin/kube-oidc-gateway \
  && ln -s ../cli/kube-oidc-proxy.js dist/bin/kube-oidc-proxy \
  && printf '{"secure-port": 8443}\n' > dist/serve-defaults.yaml

# --- runtime: what the npm package ships, nothing to build with, no shell needed to start ---
FROM node:24.21.0-trixie-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="kube-oidc-gateway" \
  org.opencontainers.image.description="OIDC login to Kubernetes that works, and shows why when it does not: an authenticating, impersonating gateway to the Kubernetes API, with doctor, token and lint." \
  org.opencontainers.image.licenses="Apache-2.0" \
  org.opencontainers.image.version="${VERSION}" \
  org.opencontainers.image.base.name="docker.io/library/node:24.21.0-trixie-slim"
# No KOG_* variable here: the environment overrides serve's --config file, so one set in the image
# would silently beat the port or any setting a chart writes into that file.
ENV NODE_ENV=production \
  PATH=/app/dist/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /app
# Owned by root and not writable by the user the gateway runs as.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules/ ./node_modules/
COPY --from=build /app/dist/ ./dist/
COPY docs/ ./docs/
COPY LICENSE ./LICENSE
# A numeric user (Kubernetes' runAsNonRoot can only verify a number) above 10000, so it matches no
# user of the node's own table (kube-score's container-security-context-user-group-id, Trivy
# KSV020/KSV021); not the base image's `node` (1000). It has no passwd entry, which nothing here
# needs: the files are root's and world-readable, and the process writes only to /tmp.
USER 10001:10001
# 8443: the gateway (HTTPS); 8080: /livez, /readyz and /metrics (plain HTTP, no token).
EXPOSE 8443 8080
# The executable the npm package's bin names too: it refuses a Node older than the package needs
# in one line (src/cli/start.ts) before loading the CLI.
ENTRYPOINT ["node", "/app/dist/cli/kube-oidc-gateway.js"]
# Without arguments: serve on 8443, which a non-root user may bind (serve's own default stays 443).
# A --config file rather than a flag or an ENV, because it is the weakest source: KOG_* variables
# and flags still beat it, and any arguments (the chart's `serve --config=…`) replace it whole.
CMD ["serve", "--config=/app/dist/serve-defaults.yaml"]

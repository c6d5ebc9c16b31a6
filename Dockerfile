# syntax=docker/dockerfile:1.7
# openelb-ts speaker image: Node 20 on Alpine, the CLI bundled into one ES module, koffi as the
# only node_modules, running as a non-root user whose node binary carries CAP_NET_RAW.
#
#   docker build -t openelb-ts:0.1.0 .
#   docker run --rm --network host openelb-ts:0.1.0 doctor --offline
#
# Expected size (no container engine where this was written; estimated from measured parts,
# see README "Image"): ~116 MB unpacked, ~42 MB compressed.

ARG NODE_VERSION=20
ARG ALPINE_VERSION=3.22

# --- build: bundle src/ (and @kubernetes/client-node, ip-address) into dist/ (entry openelb-ts.mjs + chunks).
# Runs on the builder's own platform: the bundle is plain JavaScript, the same for every
# target. Debian (glibc) because a dev dependency, the Deno binary, is glibc-only.
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: koffi and esbuild work from their prebuilt platform packages; no install
# script needs to run (and none may download anything).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY native-bindings ./native-bindings
COPY src ./src
COPY scripts/build.ts ./scripts/build.ts
RUN npm run build && node dist/openelb-ts.mjs --help >/dev/null

# --- deps: production dependencies for the target platform, then only koffi is kept (its
# native addon comes from @koromix/koffi-<platform>, which holds glibc and musl builds).
FROM node:${NODE_VERSION}-alpine${ALPINE_VERSION} AS deps
WORKDIR /deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p /app/node_modules/@koromix \
 && mv node_modules/koffi /app/node_modules/ \
 && mv node_modules/@koromix/koffi-linux-* /app/node_modules/@koromix/

# --- runtime: Alpine + node (no npm, yarn or corepack) + the bundle + koffi.
FROM alpine:${ALPINE_VERSION}
# node comes in through a bind mount, not COPY: its CAP_NET_RAW file capability (an xattr) is
# then set in the same layer the file is created in, so the image holds one copy of the 99 MB
# binary (setcap on a COPYed file would copy it up into a second layer).
RUN --mount=type=bind,from=deps,source=/usr/local/bin/node,target=/mnt/node \
    apk add --no-cache libstdc++ libgcc \
 && apk add --no-cache --virtual .setcap libcap-utils \
 && install -m 0755 /mnt/node /usr/local/bin/node \
 && setcap cap_net_raw+ep /usr/local/bin/node \
 && apk del .setcap \
 && addgroup -S -g 65532 openelb \
 && adduser -S -D -H -u 65532 -G openelb -s /sbin/nologin openelb \
 && ln -s /app/openelb-ts.mjs /usr/local/bin/openelb-ts
COPY --from=deps /app/node_modules /app/node_modules
COPY --from=build --chmod=0755 /src/dist/ /app/
# Non-root by default. CAP_NET_RAW reaches the process through the file capability on node,
# so the container must keep NET_RAW in its bounding set (Docker's default does; in
# Kubernetes: capabilities.add: [NET_RAW]). Without it exec fails with EPERM, on purpose:
# the speaker cannot answer ARP/NDP without it. deploy/daemonset.yaml runs it as uid 0 with
# every capability but NET_RAW dropped and no privilege escalation (see README "Image").
USER 65532:65532
ENV NODE_ENV=production
ENTRYPOINT ["openelb-ts"]
CMD ["--help"]

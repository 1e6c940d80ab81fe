# Wavegate on its embedded engine (PGlite + pg_ivm in process). Not built in CI: no Docker engine there.
#   docker build -t wavegate . && docker run --rm -p 4000:4000 wavegate
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production \
    WAVEGATE_HOST=0.0.0.0 \
    WAVEGATE_PORT=4000
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Read at run time: package.json and schema/ locate the package root; the view SQL and the outbox DDL.
COPY package.json ./
COPY bin ./bin
COPY schema ./schema
COPY migrations ./migrations
# A place for WAVEGATE_DATA_DIR=/data that the non-root user can write (a new named volume inherits it).
RUN mkdir /data && chown node:node /data
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WAVEGATE_PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/wavegate.js", "serve"]

# Wavegate's images. Not built in CI: no Docker engine there.
#   gateway (default target, embedded engine unless WAVEGATE_ENGINE says otherwise):
#     docker build -t wavegate . && docker run --rm -p 4000:4000 wavegate
#   the ride-hailing example services (docker-compose.yml runs ride, driver, payment, notification, traffic):
#     docker build --target services -t wavegate-services .
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# The example services run from TypeScript through examples/ride-hailing/register.js, which compiles
# each file on require with the `typescript` package (a devDependency, hence the full install).
FROM deps AS services
ENV NODE_ENV=production
COPY package.json tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY schema ./schema
COPY examples/ride-hailing/register.js examples/ride-hailing/tsconfig.json ./examples/ride-hailing/
COPY examples/ride-hailing/src ./examples/ride-hailing/src
USER node
# SERVICE=ride|driver|payment|notification|traffic|router chooses what runs (examples/ride-hailing/src/main.ts).
CMD ["node", "-r", "./examples/ride-hailing/register.js", "examples/ride-hailing/src/main.ts"]

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

# The shopflow app image (API, worker, payment gateway simulator share it; the command picks the process).
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 (the gateway simulator's ledger) compiles from source when no prebuilt binary is at hand.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The gateway simulator's SQLite ledger (a volume in docker-compose.yml).
RUN mkdir -p /data/gateway && chown node:node /data/gateway
USER node
CMD ["node", "dist/api/server.js"]

# aco node image: the SvelteKit app (build/) and the server bundle (dist/) on Node 20.
# Used by docker-compose.yml; any number of these share one PostgreSQL and one Redis.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 is a native addon; the embedded mode still needs it, so it is built here
RUN apt-get update -qq && apt-get install -y -qq python3 make g++ >/dev/null && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 ACO_DATA_DIR=/data ACO_WORKFLOWS_DIR=/workflows
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build ./build
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/workflows /workflows
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=3s --retries=3 CMD node -e "fetch('http://127.0.0.1:3000/api/v1/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "dist/server.js"]

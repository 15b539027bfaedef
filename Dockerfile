# Conduit API and worker image. Build stage installs dependencies; the runtime stage runs as a non-root user.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
# Two malloc arenas instead of glibc's 8 per core: the SDK's native threads otherwise keep freed memory in arenas
# of their own (platform/node-process-env.ts; a worker with 3,000 parked reminders: 497 MiB against 727).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
RUN useradd --system --uid 10001 conduit && mkdir -p /app/data && chown conduit /app/data
USER conduit
# 8080: the API; 9464 and 9465: a worker's metrics/probes server (METRICS_PORT) and Temporal SDK metrics.
EXPOSE 8080 9464 9465
# The API answers on PORT; a worker-only container has no API and answers on METRICS_PORT instead.
HEALTHCHECK --interval=15s --timeout=3s CMD node -e "const e=process.env,ok=p=>fetch('http://127.0.0.1:'+p+'/healthz').then(r=>r.ok);ok(e.PORT).catch(()=>ok(e.METRICS_PORT||9464)).then(o=>process.exit(o?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "api/server.ts"]

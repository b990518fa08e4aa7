# The VTN (OpenADR 2.0b + operator API). State lives in the database at HOMEFLEX_DATABASE_URL:
# mount a volume at /data to keep it across restarts. It refuses to start without TLS material
# (HOMEFLEX_VTN_TLS_CERT/KEY/CA) and an operator token (HOMEFLEX_API_TOKEN) unless told that running
# without them is intended (HOMEFLEX_ALLOW_INSECURE_OPENADR=1, HOMEFLEX_ALLOW_OPEN_API=1): see README.
# The same image runs every homeflex command (deploy/compose.yaml: vtn, telemetry, portal, init).
FROM python:3.11-slim
# mosquitto_passwd: `homeflex mqtt-access` hashes the broker's password file with it.
RUN apt-get update && apt-get install -y --no-install-recommends mosquitto && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 homeflex
WORKDIR /app
COPY pyproject.toml README.md ./
COPY homeflex ./homeflex
RUN pip install --no-cache-dir . && mkdir -p /data && chown homeflex /data
USER homeflex
ENV HOMEFLEX_DATABASE_URL=sqlite:////data/homeflex.db \
    HOMEFLEX_VTN_HOST=0.0.0.0 \
    HOMEFLEX_VTN_PORT=8080 \
    HOMEFLEX_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
CMD ["homeflex", "vtn"]

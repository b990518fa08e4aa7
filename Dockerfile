# The VTN (OpenADR 2.0b + operator API). State lives in the database at HOMEFLEX_DATABASE_URL:
# mount a volume at /data to keep it across restarts. It refuses to start without TLS material
# (HOMEFLEX_VTN_TLS_CERT/KEY/CA) and an operator token (HOMEFLEX_API_TOKEN) unless told that running
# without them is intended (HOMEFLEX_ALLOW_INSECURE_OPENADR=1, HOMEFLEX_ALLOW_OPEN_API=1): see README.
FROM python:3.11-slim
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

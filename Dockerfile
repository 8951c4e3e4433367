# sabot: the registration bot, in webhook mode behind your HTTPS reverse proxy.
#   docker build -t sabot .        (or `docker compose up -d`, see compose.yaml and README "Deploying")
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE THIRD_PARTY_NOTICES.md ./
COPY bot ./bot
COPY flows ./flows
COPY domain ./domain
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/sabot --create-home sabot \
    && rm -rf /src

# working files (the SQLite database and key file when no PostgreSQL or keys are given) live here
WORKDIR /var/lib/sabot
ENV SABOT_DATA_DIR=/var/lib/sabot
USER sabot

EXPOSE 8443
# /healthz answers while the webhook server runs (/readyz also checks the database)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8443/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["sabot"]
# the public URL Telegram posts to must be given: docker run ... sabot run --webhook-url https://... --listen 0.0.0.0
CMD ["doctor"]

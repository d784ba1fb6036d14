# alertsite's image: web, worker and beat run from it with different commands (deploy/compose.yaml).
# Not built on the project's machine (no container runtime there); tests/deploy/test_dockerfile.py
# runs the same build commands against the checkout instead.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system alertsite \
    && useradd --system --gid alertsite --home-dir /app --shell /usr/sbin/nologin alertsite \
    && install -d -o alertsite -g alertsite -m 0750 /var/lib/alertsite

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Build-time settings only, so the settings load with DEBUG off (DATABASE_URL set) and the
# production checks run: nothing here connects to a database, and the keys are thrown away.
# The real values come from the environment when a container starts (deploy/compose.yaml).
ARG BUILD_ENV="DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=redis://build:6379/0 \
SECRET_KEY=build-only-secret-key-never-used-to-serve-0123456789-abcdefghijklmnop \
ALERTSITE_ENCRYPTION_KEY=YnVpbGQtb25seS1lbmNyeXB0aW9uLWtleS0zMi1ieXQ= ALLOWED_HOSTS=build \
ALERTSITE_BEHIND_TLS_PROXY=true SECURE_SSL_REDIRECT=true SECURE_HSTS_SECONDS=3600"
RUN env $BUILD_ENV python manage.py collectstatic --noinput
RUN env $BUILD_ENV python manage.py check --deploy --fail-level WARNING

USER alertsite
EXPOSE 8000
ENV GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000 --workers 3 --timeout 60 --access-logfile -"
CMD ["gunicorn", "alertsite.wsgi"]

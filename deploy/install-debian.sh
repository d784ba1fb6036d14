#!/usr/bin/env bash
# Install (or upgrade) alertsite on a fresh Debian 12 box, run as root from a checkout:
#   sudo bash deploy/install-debian.sh                 # with PostgreSQL and Redis on this box
#   sudo bash deploy/install-debian.sh --external      # DATABASE_URL/CELERY_BROKER_URL point elsewhere
# Lays out /opt/alertsite/{app,venv}, a system user `alertsite`, /etc/alertsite/alertsite.env
# (keys generated on the first run, never overwritten), migrates, and enables web, worker and
# beat under alertsite.target. Running it again upgrades the code and restarts the units.
# README "Deploy on one box" says what to do before and after.
set -euo pipefail

EXTERNAL=0
[ "${1:-}" = "--external" ] && EXTERNAL=1
SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/opt/alertsite
ENV_FILE=/etc/alertsite/alertsite.env

[ "$(id -u)" -eq 0 ] || { echo "install-debian.sh: run as root" >&2; exit 1; }

echo "== packages"
apt-get update -q
packages=(python3 python3-venv ca-certificates)
[ "$EXTERNAL" -eq 1 ] || packages+=(postgresql redis-server)
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"

echo "== user alertsite"
id alertsite >/dev/null 2>&1 \
  || useradd --system --user-group --home-dir "$PREFIX" --no-create-home --shell /usr/sbin/nologin alertsite

echo "== code in $PREFIX/app, virtualenv in $PREFIX/venv"
install -d -m 0755 "$PREFIX" "$PREFIX/app"
tar -C "$SOURCE" --exclude=.git --exclude=.venv --exclude=staticfiles --exclude='db.sqlite3*' \
  --exclude=.alertsite-secrets.json --exclude=__pycache__ -cf - . | tar -C "$PREFIX/app" -xf -
[ -x "$PREFIX/venv/bin/python" ] || python3 -m venv "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install --quiet --disable-pip-version-check -r "$PREFIX/app/requirements.txt"
# The units run with a read-only /opt (ProtectSystem=strict): compile once, here.
"$PREFIX/venv/bin/python" -m compileall -q "$PREFIX/app" >/dev/null

echo "== environment file $ENV_FILE"
install -d -m 0750 -g alertsite /etc/alertsite
if [ ! -f "$ENV_FILE" ]; then
  secret_key="$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
  encryption_key="$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
  db_password="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
  sed -e "s|^SECRET_KEY=.*|SECRET_KEY=$secret_key|" \
      -e "s|^ALERTSITE_ENCRYPTION_KEY=.*|ALERTSITE_ENCRYPTION_KEY=$encryption_key|" \
      -e "s|^DATABASE_URL=postgres://alertsite:change-me@|DATABASE_URL=postgres://alertsite:$db_password@|" \
      "$SOURCE/deploy/alertsite.env.example" > "$ENV_FILE"
  chown root:alertsite "$ENV_FILE"
  chmod 0640 "$ENV_FILE"
  if [ "$EXTERNAL" -eq 0 ]; then
    echo "== PostgreSQL role and database alertsite"
    runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE alertsite LOGIN PASSWORD '$db_password'" \
      -c "CREATE DATABASE alertsite OWNER alertsite"
  fi
  echo "Wrote $ENV_FILE with new keys: set ALLOWED_HOSTS, ALERTSITE_BASE_URL, EMAIL_URL and the TLS lines."
fi

echo "== migrate and collect static files"
install -m 0755 "$SOURCE/deploy/alertsite-manage" /usr/local/bin/alertsite-manage
# Static files go into the root-owned code tree, so collected as root; the rest as alertsite.
ALERTSITE_RUN_AS_ROOT=1 alertsite-manage collectstatic --noinput --verbosity 0
alertsite-manage migrate --noinput
alertsite-manage check --deploy

echo "== systemd units"
install -m 0644 "$SOURCE"/deploy/systemd/alertsite-{web,worker,beat}.service "$SOURCE"/deploy/systemd/alertsite.target \
  /etc/systemd/system/
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable alertsite.target alertsite-web.service alertsite-worker.service alertsite-beat.service
  systemctl restart alertsite.target
  systemctl --no-pager --lines=0 status alertsite-web.service alertsite-worker.service alertsite-beat.service || true
else
  echo "systemd is not running here: enable with 'systemctl enable --now alertsite.target' once it is."
fi

cat <<'DONE'
Installed. Next:
  - an admin:  sudo alertsite-manage createsuperuser
  - a TLS proxy in front of 127.0.0.1:8000 (nginx, Caddy) that sets X-Forwarded-Proto
  - health: curl -s -H 'Host: <one of ALLOWED_HOSTS>' http://127.0.0.1:8000/healthz
DONE

#!/usr/bin/env bash
# RDS rotates the master password in Secrets Manager (every 7 days by default). Every 5
# minutes, re-read the secrets and restart the app's processes when one changed, so the
# app reconnects with the new password within minutes of a rotation.
set -euo pipefail
cat >/etc/systemd/system/mlserving-secrets.service <<'UNIT'
[Unit]
Description=Refresh ML Serving secrets from Secrets Manager and SSM

[Service]
Type=oneshot
ExecStart=/var/app/current/.platform/bin/mlserve-secrets --restart-on-change
UNIT
cat >/etc/systemd/system/mlserving-secrets.timer <<'UNIT'
[Unit]
Description=Refresh ML Serving secrets every 5 minutes

[Timer]
OnBootSec=2min
OnUnitActiveSec=5min

[Install]
WantedBy=timers.target
UNIT
systemctl daemon-reload
systemctl enable --now mlserving-secrets.timer

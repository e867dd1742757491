#!/usr/bin/env bash
# The generic endpoint from any CI job: sign the body with HMAC-SHA256 and POST it.
#   CONVERGE_WEBHOOK_URL=https://hooks.example.com CONVERGE_WEBHOOK_SECRET=… ./push.sh https://git.example.com/org/fleet.git main
set -euo pipefail
repo="${1:?repository URL}"
branch="${2:-main}"
body=$(printf '{"repository":"%s","ref":"refs/heads/%s"}' "$repo" "$branch")
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$CONVERGE_WEBHOOK_SECRET" -r | cut -d' ' -f1)
curl -fsS -X POST "$CONVERGE_WEBHOOK_URL/generic" \
  -H 'Content-Type: application/json' \
  -H "X-Converge-Signature: sha256=$sig" \
  -H "X-Converge-Delivery: ${CI_JOB_ID:-$(date +%s%N)}" \
  --data "$body"
echo

#!/usr/bin/env bash
# Writes the kubeconfig of one workload cluster into a Secret of the management cluster, from the
# token Secret that target-cluster.yaml created there. The token travels through a pipe, never argv.
#   examples/many-clusters/kubeconfig-secret.sh staging  staging-kubeconfig  management
#   examples/many-clusters/kubeconfig-secret.sh prod-eu  prod-eu-kubeconfig  management
set -euo pipefail
target_context=$1 secret_name=$2 management_context=$3 namespace=${4:-fleet}

server=$(kubectl config view --minify --raw --context "$target_context" -o jsonpath='{.clusters[0].cluster.server}')
ca=$(kubectl --context "$target_context" -n converge-remote get secret converge-token -o jsonpath='{.data.ca\.crt}')
token=$(kubectl --context "$target_context" -n converge-remote get secret converge-token -o jsonpath='{.data.token}' | base64 -d)

# Only inline data (certificate-authority-data, token): file paths and exec plugins are refused by default.
kubeconfig=$(cat <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: ${target_context}
    cluster: { server: "${server}", certificate-authority-data: "${ca}" }
users:
  - name: converge
    user: { token: "${token}" }
contexts:
  - name: ${target_context}
    context: { cluster: ${target_context}, user: converge }
current-context: ${target_context}
YAML
)
printf '%s' "$kubeconfig" |
  kubectl --context "$management_context" -n "$namespace" create secret generic "$secret_name" \
    --from-file=value=/dev/stdin --dry-run=client -o yaml |
  kubectl --context "$management_context" apply -f -

#!/bin/sh
# Encrypts the example's secrets in place with the keys .sops.yaml names (run from examples/sops).
set -eu
sops --encrypt --in-place apps/ldap.env
sops --encrypt --in-place apps/db-secret.yaml

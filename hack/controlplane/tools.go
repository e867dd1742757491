//go:build tools

// Keeps the Kubernetes command packages in go.mod/go.sum; the binaries are built straight from
// k8s.io/kubernetes/cmd/... by scripts/build-control-plane.sh.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

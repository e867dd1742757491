//go:build tools

// Keeps the Kubernetes command packages in go.mod/go.sum; the binaries are built straight from
// k8s.io/kubernetes/cmd/... by scripts/build-control-plane.sh (and the real node's kubelet and
// kube-proxy by scripts/build-node.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-proxy/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "k8s.io/kubernetes/cmd/kubelet/app"
)

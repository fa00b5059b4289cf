"""A real, local Kubernetes control plane and node agent for development and tests.

Syncline is an operator, so it is tested against a real kube-apiserver, etcd and
kube-controller-manager (built from the Go module proxy by ``tools/k8s/build.sh``),
never against a mock. A small node agent stands in for the kubelet so that Jobs
really run, as local processes. See docs/dev-cluster.md.
"""

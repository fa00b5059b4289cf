"""A real, local Kubernetes cluster for development and tests.

Syncline is an operator, so it is tested against a real kube-apiserver, etcd,
kube-controller-manager, kube-scheduler, kubelet with containerd, and kube-proxy
(the Kubernetes parts built from the Go module proxy by ``tools/k8s/build.sh``,
containerd and runc from Debian), running Syncline's own image; never against a
mock. The cluster lives in a network namespace of its own. See docs/dev-cluster.md.
"""

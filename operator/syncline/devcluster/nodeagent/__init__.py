"""A small local stand-in for the kubelet, so that Jobs on the dev cluster really run.

It registers one Node, binds pending pods to it (there is no kube-scheduler), runs
each container's command as a local process in a sandbox directory and reports the
pod's phase back. It pulls no images and isolates nothing; docs/dev-cluster.md
lists what it does not do.
"""

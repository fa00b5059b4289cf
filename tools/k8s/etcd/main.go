// Command etcd is a two-line wrapper around etcd's own entry point.
//
// etcd v3.5 publishes its server as the module go.etcd.io/etcd/server/v3, whose
// etcdmain package holds the real main; the binary's own main package lives in
// a module that is awkward to require. Wrapping etcdmain keeps the build on the
// Go module proxy alone, pinned by this directory's go.mod and go.sum.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

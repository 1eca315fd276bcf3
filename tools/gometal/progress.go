package main

import (
	"io"
	"sync"
	"time"
)

// slowAfter is how long a build runs before the CLI says what it is doing.
// (A variable for the tests.)
var slowAfter = 3 * time.Second

// coldBuildHint says why a build can be slow.
const coldBuildHint = " (the first build compiles the Go runtime, the kernel and the network stack: a minute or more on a slow machine; later builds are cached)\n"

// notice prints msg to w once, the first time a build outlasts slowAfter;
// it is safe for concurrent builds. A nil w prints nothing.
type notice struct {
	w    io.Writer
	msg  string
	once sync.Once
}

// start arms the notice for one build and returns the function that
// disarms it when the build is done.
func (n *notice) start() (stop func()) {
	if n == nil || n.w == nil {
		return func() {}
	}
	t := time.AfterFunc(slowAfter, func() {
		n.once.Do(func() { io.WriteString(n.w, n.msg) })
	})
	return func() { t.Stop() }
}

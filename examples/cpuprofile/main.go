// Command cpuprofile takes a CPU profile of a hot function and writes it
// to stdout, base64-encoded between markers, for the host to parse.
package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"runtime/pprof"
	"time"
)

var sink uint64

//go:noinline
func hot(n int) uint64 {
	var x uint64 = 1
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func main() {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		fmt.Println("start:", err)
		os.Exit(1)
	}
	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		sink += hot(100000)
	}
	pprof.StopCPUProfile()
	fmt.Println("BEGIN PROFILE")
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	for len(enc) > 76 {
		fmt.Println(enc[:76])
		enc = enc[76:]
	}
	fmt.Println(enc)
	fmt.Println("END PROFILE")
}

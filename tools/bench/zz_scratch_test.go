package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestZZScratch(t *testing.T) {
	root, _ := filepath.Abs("../..")
	k, err := FetchDebianKernel(t.Context(), filepath.Join(root, "build/bench/debian"), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	w, err := BuildWorkload(t.Context(), root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g, _ := GometalSide(w.Image)
	l, _ := LinuxSide(k.Vmlinuz, w.Initramfs)
	args := strings.Fields(os.Getenv("ZZARGS"))
	for _, s := range []Side{g, l} {
		start := time.Now()
		o := s.Run(t.Context(), Boot{SMP: 1, Mem: "256M", Args: args, Timeout: 120 * time.Second}, nil)
		t.Logf("%s: %v err=%v h2m=%v k2m=%v timedout=%v\n%s", s.Name, time.Since(start), o.Err, o.HostToMain, o.KernelToMain, o.TimedOut, o.Console)
		t.Logf("%+v", o.Report)
	}
}

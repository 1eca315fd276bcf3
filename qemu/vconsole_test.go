package qemu

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRouterMatchesSplit feeds console streams to a Router in every
// chunk size and checks that it routes them as Split does.
func TestRouterMatchesSplit(t *testing.T) {
	streams := []string{
		"[gometal] booting\nhello\n[gometal] exit status 0\n",
		"prompt> partial\r\n[gometal] kernel line\r\n continued\n",
		"a line\r\nnext line\n",
		"[gometa not kernel\n[gometal]\n[gometal] x",
		"ends without newline",
		"\r\n\r\n[gometal] a\r\n",
		"[gometal] k\nprogram\r\n",
	}
	for _, s := range streams {
		wantOut, wantLog := Split([]byte(s))
		for size := 1; size <= len(s); size++ {
			var out, klog bytes.Buffer
			r := &Router{Output: &out, Kernel: &klog}
			for i := 0; i < len(s); i += size {
				r.Write([]byte(s[i:min(i+size, len(s))]))
			}
			r.Close()
			assert.Equal(t, string(wantOut), out.String(), "%q in chunks of %d", s, size)
			assert.Equal(t, string(wantLog), klog.String(), "%q in chunks of %d", s, size)
		}
	}
}

// TestRouterStreamsPartialLines: a program's partial line that cannot be
// a kernel line is passed on before its newline.
func TestRouterStreamsPartialLines(t *testing.T) {
	var out, klog bytes.Buffer
	r := &Router{Output: &out, Kernel: &klog}
	r.Write([]byte("Name? "))
	assert.Equal(t, "Name? ", out.String())
	r.Write([]byte("[gomet"))
	assert.Equal(t, "Name? [gomet", out.String(), "mid-line bytes are program output")
	r.Write([]byte("\n[gomet"))
	assert.Equal(t, "Name? [gomet\n", out.String(), "a line start that may be a kernel line waits")
	r.Write([]byte("al] x\n"))
	assert.Equal(t, "[gometal] x\n", klog.String())
}

// TestLineWriter passes whole lines only, the last one completed.
func TestLineWriter(t *testing.T) {
	var dst bytes.Buffer
	w := &lineWriter{dst: &dst}
	n, err := w.Write([]byte("one\ntw"))
	assert.NoError(t, err)
	assert.Equal(t, 6, n)
	assert.Equal(t, "one\n", dst.String())
	w.Write([]byte("o\nthree"))
	assert.Equal(t, "one\ntwo\n", dst.String())
	w.Close()
	assert.Equal(t, "one\ntwo\nthree\n", dst.String())
}

// TestOptionsArgsVirtioConsole checks the virtio console's device and its
// four ports on inherited sockets 3 to 6, on PCI and on virtio-mmio.
func TestOptionsArgsVirtioConsole(t *testing.T) {
	args := Options{Image: "x.img", VirtioConsole: true}.Args()
	assert.Equal(t, []string{
		"-device", "virtio-serial-pci,max_ports=5",
		"-chardev", "socket,id=gmstdout,fd=3", "-device", "virtserialport,chardev=gmstdout,nr=1,name=gometal.stdout",
		"-chardev", "socket,id=gmstderr,fd=4", "-device", "virtserialport,chardev=gmstderr,nr=2,name=gometal.stderr",
		"-chardev", "socket,id=gmstdin,fd=5", "-device", "virtserialport,chardev=gmstdin,nr=3,name=gometal.stdin",
		"-chardev", "socket,id=gmklog,fd=6", "-device", "virtserialport,chardev=gmklog,nr=4,name=gometal.klog",
	}, args[len(args)-18:])

	args = Options{Image: "x.img", VirtioConsole: true, Machine: "microvm"}.Args()
	assert.Contains(t, strings.Join(args, " "), "-global virtio-mmio.force-legacy=false -device virtio-serial-device,max_ports=5 ")
	args = Options{Image: "x.img", VirtioConsole: true, Machine: "microvm", Net: "user"}.Args()
	assert.Equal(t, 1, strings.Count(strings.Join(args, " "), "force-legacy"), "one -global for both devices")

	assert.NotContains(t, strings.Join(Options{Image: "x.img"}.Args(), " "), "virtio-serial")
}

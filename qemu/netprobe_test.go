package qemu_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Booted by TestBoot without a NIC, netprobe must fail with a clear error.
func init() {
	bootCases["netprobe"] = bootCase{guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 1, res.ExitCode)
		assert.Contains(t, string(res.Output), "FAIL: open NIC: no virtio-net device")
	}}
}

// netprobePattern is the byte at offset i of either stream of
// examples/netprobe's exchange.
func netprobePattern(i int) byte { return byte(i*7 + i>>8) }

// netprobeServer accepts one connection on a host port QEMU's user
// network reaches as 10.0.2.2 and plays the server side of
// examples/netprobe: it reads the hello line and 128 KiB, answers with a
// line and 256 KiB, and closes. It reports the line and the verdict on
// the bytes it read.
func netprobeServer(t *testing.T) (port int, got <-chan string) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	ch := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			ch <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(90 * time.Second))
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err != nil {
			ch <- "read line: " + err.Error()
			return
		}
		data := make([]byte, 128<<10)
		n, err := io.ReadFull(r, data)
		verdict := "ok"
		for i := range data[:n] {
			if data[i] != netprobePattern(i) {
				verdict = fmt.Sprintf("BAD at %d", i)
				break
			}
		}
		if err != nil {
			verdict = err.Error()
		}
		out := fmt.Appendf(nil, "hello, gometal: got %d bytes %s\n", n, verdict)
		for i := 0; i < 256<<10; i++ {
			out = append(out, netprobePattern(i))
		}
		if _, err := c.Write(out); err != nil {
			verdict += "; write: " + err.Error()
		}
		ch <- fmt.Sprintf("%q %d bytes %s", line, n, verdict)
	}()
	return l.Addr().(*net.TCPAddr).Port, ch
}

// TestNetProbe boots examples/netprobe with QEMU's user network on one
// CPU and on four: the virtio-net driver under gVisor's netstack opens a
// TCP connection to a listener on the host and moves 128 KiB out and
// 256 KiB in, through the receive and transmit queues and their MSI-X
// interrupts.
func TestNetProbe(t *testing.T) {
	img := filepath.Join(t.TempDir(), "netprobe.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/netprobe", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	for _, smp := range []int{1, 4} {
		t.Run(fmt.Sprint(smp), func(t *testing.T) {
			port, got := netprobeServer(t)
			res, err := qemu.Run(t.Context(), qemu.Options{
				Image: img, SMP: smp, Net: "user", Timeout: 90 * time.Second,
				// slice=1ms as in every boot test; nonet: the kernel's
				// own stack leaves the NIC to the program.
				Append: "slice=1ms nonet -- 10.0.2.2:" + strconv.Itoa(port),
			})
			require.NoError(t, err)
			out := string(res.Output)
			t.Logf("output:\n%s", out)
			assert.Equal(t, 0, res.ExitCode)
			select {
			case s := <-got:
				assert.Equal(t, `"hello from gometal\n" 131072 bytes ok`, s)
			default:
				t.Error("the host server got no connection")
			}
			assert.Contains(t, out, "nic: MAC 52:54:00:12:34:56\n")
			assert.Contains(t, out, "reply: hello, gometal: got 131072 bytes ok\n")
			assert.Contains(t, out, "received: 262144 bytes, pattern ok\n")
			assert.Contains(t, out, "done\n")
			m := regexp.MustCompile(`stats: rx (\d+) packets (\d+) bytes, tx (\d+) packets (\d+) bytes, rx malformed 0, tx ring full \d+, tx too long 0, device errors 0, interrupts rx (\d+) tx (\d+)`).FindStringSubmatch(out)
			require.NotNil(t, m, "stats line")
			num := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
			assert.Greater(t, num(2), 256<<10, "rx bytes")
			assert.Greater(t, num(4), 128<<10, "tx bytes")
			assert.Positive(t, num(5), "rx interrupts")
			// Transmit interrupts are asked for only while fewer than a
			// quarter of the buffers are free (nic_tx.go): this exchange
			// never gets there, and sending reclaims the buffers.
			assert.Zero(t, num(6), "tx interrupts")
		})
	}
}

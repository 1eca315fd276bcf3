package qemu_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestTapChecksumOffload boots the network examples on a tap backend,
// which (unlike QEMU's user network) has a vnet header and offers
// VIRTIO_NET_F_CSUM and GUEST_CSUM, at -smp 1 and 2: the driver must
// negotiate both, and TCP and UDP must carry data both ways with the
// checksums left to the device. A packet socket on the host's side of the
// tap sees the checksum state of every frame: the guest's TCP and UDP
// frames arrive with partial checksums (the guest asked the device to
// complete them), and the host's reach the guest partial too (the guest
// accepted them without a checksum of its own). Needs root and
// /dev/net/tun (CI runs as root); it skips without them.
func TestTapChecksumOffload(t *testing.T) {
	requireTap(t)
	root := mustRoot(t)
	httpdImg := filepath.Join(t.TempDir(), "httpd.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/httpd", Out: httpdImg, Dir: root})
	require.NoError(t, err)
	clientImg := filepath.Join(t.TempDir(), "netclient.img")
	_, err = image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/netclient", Out: clientImg, Dir: root})
	require.NoError(t, err)

	for _, smp := range []int{1, 2} {
		t.Run(fmt.Sprintf("smp%d", smp), func(t *testing.T) {
			t.Run("httpd", func(t *testing.T) { tapHTTPD(t, httpdImg, smp, true) })
			t.Run("netclient", func(t *testing.T) { tapNetClient(t, clientImg, smp) })
		})
	}
	// The same device with both features switched off: nothing is
	// negotiated and the guest computes every checksum, as on QEMU's user
	// network.
	t.Run("offload_off", func(t *testing.T) { tapHTTPD(t, httpdImg, 1, false) })
}

// tapHTTPD serves from the guest: 4 MiB down (the guest transmits), a
// 1 MiB POST echoed (the guest receives and transmits). offload false
// makes the device offer neither checksum feature.
func tapHTTPD(t *testing.T, img string, smp int, offload bool) {
	tap := newTap(t)
	tap.offOffload = !offload
	capt := tap.capture(t)
	w := &lineWatcher{want: "httpd: listening", seen: make(chan struct{})}
	done := make(chan struct{})
	var res *qemu.Result
	var runErr error
	go func() {
		defer close(done)
		res, runErr = qemu.Run(context.Background(), tap.options(img, smp, "slice=1ms", w))
	}()
	select {
	case <-w.seen:
	case <-done:
		t.Fatalf("httpd ended before listening: %v\n%s", runErr, res.Console)
	case <-time.After(60 * time.Second):
		t.Fatal("httpd did not start listening within 60s")
	}
	base := "http://" + tap.guest
	client := &http.Client{Timeout: 60 * time.Second}

	body := httpGet(t, client, base+"/")
	assert.True(t, strings.HasPrefix(string(body), "hello from gometal"), "%q", body)
	const n = 4 << 20
	body = httpGet(t, client, fmt.Sprintf("%s/bytes?n=%d", base, n))
	assert.True(t, patternOK(body, n), "GET /bytes: %d bytes, not the pattern", len(body))
	post := make([]byte, 1<<20)
	rand.Read(post)
	resp, err := client.Post(base+"/echo", "application/octet-stream", bytes.NewReader(post))
	require.NoError(t, err)
	echo, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.True(t, bytes.Equal(post, echo), "POST /echo: %d bytes back, not the same", len(echo))
	// The reply to /quit must arrive although the program exits at once
	// (docs/networking.md, "Nothing lost at exit").
	if resp, err := client.Get(base + "/quit"); assert.NoError(t, err, "the answer to /quit was lost at exit") {
		resp.Body.Close()
	}

	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("httpd did not exit within 60s of /quit")
	}
	require.NoError(t, runErr, "%s", res.Console)
	assert.Equal(t, 0, res.ExitCode, "%s", res.Console)
	assert.Contains(t, string(res.Output), "shut down cleanly")
	if !offload {
		assert.Regexp(t, `virtio-net 00:[0-9a-f]{2}\.0: MAC .*, negotiated MAC STATUS VERSION_1\n`, string(res.KernelLog))
		capt.checkNone(t)
		return
	}
	checkNegotiated(t, res)
	capt.check(t, false)
}

// tapNetClient fetches 4 MiB from the host (the guest receives) and
// makes a UDP round trip.
func tapNetClient(t *testing.T, img string, smp int) {
	tap := newTap(t)
	capt := tap.capture(t)
	payload := bytes.Repeat([]byte("0123456789abcdef gometal tap\n"), 4<<20/29)
	ln, err := net.Listen("tcp4", tap.host+":0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(payload) })}
	go srv.Serve(ln)
	defer srv.Close()
	args := fmt.Sprintf("slice=1ms -- -url http://%s/file -udp %s", ln.Addr(), udpEchoServer(t, tap.host))
	res, err := qemu.Run(t.Context(), tap.options(img, smp, args, nil))
	require.NoError(t, err, "%s", res.Console)
	require.Equal(t, 0, res.ExitCode, "%s", res.Console)
	out := string(res.Output)
	assert.Contains(t, out, fmt.Sprintf("get: 200 OK %d bytes sha256 %x\n", len(payload), sha256.Sum256(payload)))
	assert.Contains(t, out, `udp: "PING FROM GOMETAL"`)
	checkNegotiated(t, res)
	capt.check(t, true)
}

// checkNegotiated checks the driver's log line: both checksum features
// offered by the tap backend and accepted.
func checkNegotiated(t *testing.T, res *qemu.Result) {
	t.Helper()
	assert.Regexp(t, `virtio-net 00:[0-9a-f]{2}\.0: MAC 52:54:00:12:34:56, link up, .*features 0x1000[0-9a-f]{4}3 \(offered 0x[0-9a-f]+[37bf]\), .*, negotiated CSUM GUEST_CSUM `, string(res.KernelLog))
}

// requireTap skips the test unless it can create tap devices.
func requireTap(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a tap interface needs root (CI runs as root)")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no tap devices: %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skipf("the ip command (iproute2) configures the tap interface: %v", err)
	}
}

// tapDev is a tap interface on the host for one boot: the host has .1 on
// a /24 no host interface uses yet, the guest .2.
type tapDev struct {
	name        string
	index       int
	host, guest string // addresses
	offOffload  bool   // the device offers neither checksum feature
}

var tapSeq atomic.Int32

// newTap creates a tap interface with a name of its own, configures and
// raises it; it is deleted when the test ends.
func newTap(t *testing.T) *tapDev {
	t.Helper()
	name := fmt.Sprintf("gmtap%dx%d", os.Getpid()%1000000, tapSeq.Add(1))
	ip(t, "tuntap", "add", "dev", name, "mode", "tap")
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip link del %s: %v: %s", name, err, out)
		}
	})
	used, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	require.NoError(t, err)
	var subnet string
	for i := 77; i < 100 && subnet == ""; i++ {
		if s := fmt.Sprintf("192.168.%d.", i); !bytes.Contains(used, []byte(" "+s)) {
			subnet = s
		}
	}
	require.NotEmpty(t, subnet, "every subnet 192.168.77-99.0/24 is in use on the host")
	ip(t, "addr", "add", subnet+"1/24", "dev", name)
	ip(t, "link", "set", name, "up")
	ifi, err := net.InterfaceByName(name)
	require.NoError(t, err)
	return &tapDev{name: name, index: ifi.Index, host: subnet + "1", guest: subnet + "2"}
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	require.NoError(t, err, "ip %s: %s", strings.Join(args, " "), out)
}

// options boots img on the tap (a modern-only virtio-net device, no
// vhost) with the guest's static address and args after it.
func (d *tapDev) options(img string, smp int, args string, console io.Writer) qemu.Options {
	dev := "virtio-net-pci,netdev=t0,disable-legacy=on"
	if d.offOffload {
		dev += ",csum=off,guest_csum=off"
	}
	return qemu.Options{
		Image: img, SMP: smp, Timeout: 180 * time.Second, Console: console,
		Append: fmt.Sprintf("ip=%s/24 gw=%s %s", d.guest, d.host, args),
		Extra: []string{
			"-netdev", "tap,id=t0,ifname=" + d.name + ",script=no,downscript=no,vhost=off",
			"-device", dev,
		},
	}
}

// tapCapture counts the IPv4 TCP and UDP frames crossing the tap, by
// direction, and how many of them had a partial checksum
// (TP_STATUS_CSUMNOTREADY: left for the device, or here the host's
// stack, to complete).
type tapCapture struct {
	fd      int
	stopped atomic.Bool
	done    chan struct{}
	// [0] from the guest, [1] to the guest; by IP protocol. Written by
	// loop, read once it is done.
	frames, partial [2]map[byte]int
}

// capture opens a packet socket on the tap; it is closed when the test
// ends at the latest.
func (d *tapDev) capture(t *testing.T) *tapCapture {
	t.Helper()
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	require.NoError(t, err)
	c := &tapCapture{fd: fd, done: make(chan struct{})}
	for i := range c.frames {
		c.frames[i], c.partial[i] = map[byte]int{}, map[byte]int{}
	}
	require.NoError(t, unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: d.index}))
	require.NoError(t, unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1))
	require.NoError(t, unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 50000}))
	go c.loop()
	t.Cleanup(c.stop)
	return c
}

// stop ends the capture and closes the socket.
func (c *tapCapture) stop() {
	if c.stopped.CompareAndSwap(false, true) {
		<-c.done
		unix.Close(c.fd)
	}
}

func (c *tapCapture) loop() {
	defer close(c.done)
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	for !c.stopped.Load() {
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		f := buf[:n]
		if len(f) < 34 || f[12] != 0x08 || f[13] != 0x00 {
			continue
		}
		proto := f[14+9]
		if proto != unix.IPPROTO_TCP && proto != unix.IPPROTO_UDP {
			continue
		}
		dir := 0 // from the guest: the host receives it
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			dir = 1
		}
		c.frames[dir][proto]++
		if auxStatus(oob[:oobn])&unix.TP_STATUS_CSUMNOTREADY != 0 {
			c.partial[dir][proto]++
		}
	}
}

// auxStatus returns tp_status from a PACKET_AUXDATA control message.
func auxStatus(oob []byte) uint32 {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_PACKET && m.Header.Type == unix.PACKET_AUXDATA && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data) // struct tpacket_auxdata starts with tp_status
		}
	}
	return 0
}

// check stops the capture and checks that TCP (and UDP, if udp) frames
// went both ways with partial checksums.
func (c *tapCapture) check(t *testing.T, udp bool) {
	t.Helper()
	c.stop()
	const tcp = unix.IPPROTO_TCP
	t.Logf("tap frames (with partial checksums): from the guest TCP %d (%d) UDP %d (%d), to the guest TCP %d (%d) UDP %d (%d)",
		c.frames[0][tcp], c.partial[0][tcp], c.frames[0][unix.IPPROTO_UDP], c.partial[0][unix.IPPROTO_UDP],
		c.frames[1][tcp], c.partial[1][tcp], c.frames[1][unix.IPPROTO_UDP], c.partial[1][unix.IPPROTO_UDP])
	protos := []byte{unix.IPPROTO_TCP}
	if udp {
		protos = append(protos, unix.IPPROTO_UDP)
	}
	for _, p := range protos {
		// The guest leaves every TCP and UDP checksum to the device
		// (none of these frames is an IP fragment).
		assert.NotZero(t, c.frames[0][p], "no frames of protocol %d from the guest", p)
		assert.Equal(t, c.frames[0][p], c.partial[0][p], "protocol %d frames from the guest with partial checksums", p)
		// The host's stack leaves its checksums partial too (the guest
		// accepted GUEST_CSUM), and the guest took them: the data arrived.
		assert.NotZero(t, c.partial[1][p], "no frames of protocol %d with partial checksums to the guest", p)
	}
}

// checkNone stops the capture and checks that no TCP or UDP frame had a
// partial checksum.
func (c *tapCapture) checkNone(t *testing.T) {
	t.Helper()
	c.stop()
	t.Logf("tap frames: from the guest TCP %d, to the guest TCP %d", c.frames[0][unix.IPPROTO_TCP], c.frames[1][unix.IPPROTO_TCP])
	assert.NotZero(t, c.frames[0][unix.IPPROTO_TCP])
	assert.NotZero(t, c.frames[1][unix.IPPROTO_TCP])
	for dir := range c.partial {
		for p, n := range c.partial[dir] {
			assert.Zero(t, n, "frames of protocol %d with partial checksums, direction %d", p, dir)
		}
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

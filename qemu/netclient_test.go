package qemu_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() {
	// Without a NIC: netloop works over the loopback interface exactly as
	// on Linux; netclient with nothing to do prints nothing; httpd with a
	// bad address reports it.
	bootCases["netloop"] = bootCase{}
	bootCases["badsockets"] = bootCase{} // bad arguments get Linux's errnos
	bootCases["netclient"] = bootCase{}
	bootCases["httpd"] = bootCase{guestOnly: true, append: "-- -addr bad:address", check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 1, res.ExitCode)
		assert.Regexp(t, `listen tcp: .*unknown port`, string(res.Output))
	}}
}

// TestNetClient boots examples/netclient with QEMU's user network at -smp 1
// and 4: an unmodified net/http client fetches 4 MiB from a server on the
// host (reached as 10.0.2.2), a UDP datagram makes a round trip to an echo
// server on the host, and a name is resolved through QEMU's resolver
// (10.0.2.3, which asks the host's).
func TestNetClient(t *testing.T) {
	img := filepath.Join(t.TempDir(), "netclient.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/netclient", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)

	payload := bytes.Repeat([]byte("0123456789abcdef gometal\n"), 4<<20/25)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(payload) }))
	defer srv.Close()
	httpPort := srv.Listener.Addr().(*net.TCPAddr).Port

	udpPort := udpEchoServer(t, "127.0.0.1").Port

	// A name the host's resolver answers: the package mirror CI installs from.
	const name = "deb.debian.org"
	hostAddrs, hostErr := net.DefaultResolver.LookupHost(t.Context(), name)

	for _, smp := range []int{1, 4} {
		t.Run(fmt.Sprintf("smp%d", smp), func(t *testing.T) {
			args := fmt.Sprintf("slice=1ms -- -url http://10.0.2.2:%d/file -udp 10.0.2.2:%d", httpPort, udpPort)
			if hostErr == nil {
				args += " -lookup " + name
			}
			res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: smp, Append: args, Net: "user", Timeout: 120 * time.Second})
			require.NoError(t, err, "%s", res.Console)
			out := string(res.Output)
			require.Equal(t, 0, res.ExitCode, "%s", res.Console)
			assert.Contains(t, out, fmt.Sprintf("get: 200 OK %d bytes sha256 %x\n", len(payload), sha256.Sum256(payload)))
			assert.Contains(t, out, `udp: "PING FROM GOMETAL"`)
			if hostErr != nil {
				t.Logf("the host cannot resolve %s (%v): the DNS part was not run", name, hostErr)
				return
			}
			m := regexp.MustCompile(`lookup: ` + regexp.QuoteMeta(name) + ` \[(.*)\]`).FindStringSubmatch(out)
			require.NotNil(t, m, "no lookup result in %q", out)
			guestAddrs := strings.Fields(m[1])
			require.NotEmpty(t, guestAddrs)
			shared := slices.ContainsFunc(guestAddrs, func(a string) bool { return slices.Contains(hostAddrs, a) })
			assert.True(t, shared, "guest resolved %s to %v, the host to %v", name, guestAddrs, hostAddrs)
		})
	}
}

// udpEchoServer answers every datagram to host:PORT with its upper-case
// copy until the test ends, and returns its address.
func udpEchoServer(t *testing.T, host string) *net.UDPAddr {
	pc, err := net.ListenPacket("udp4", host+":0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(bytes.ToUpper(buf[:n]), from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr)
}

// TestNetConfig checks where the guest's address comes from: DHCP by
// default (here on a QEMU user network moved to 192.168.76.0/24 with its
// DNS server at .53, so the defaults would not work), or ip= and gw= on
// the command line.
func TestNetConfig(t *testing.T) {
	img := filepath.Join(t.TempDir(), "netclient.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/netclient", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "config ok") }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	t.Run("dhcp", func(t *testing.T) {
		res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Net: "user,net=192.168.76.0/24,dns=192.168.76.53",
			Append: fmt.Sprintf("-- -url http://192.168.76.2:%d/", port), Timeout: 60 * time.Second})
		require.NoError(t, err, "%s", res.Console)
		assert.Contains(t, string(res.KernelLog), "DHCP lease 192.168.76.15/24, gateway 192.168.76.2, DNS 192.168.76.53")
		assert.Contains(t, string(res.Output), "get: 200 OK 9 bytes")
		assert.Equal(t, 0, res.ExitCode)
	})
	t.Run("static", func(t *testing.T) {
		res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Net: "user",
			Append: fmt.Sprintf("ip=10.0.2.77/24 gw=10.0.2.2 -- -url http://10.0.2.2:%d/", port), Timeout: 60 * time.Second})
		require.NoError(t, err, "%s", res.Console)
		assert.Contains(t, string(res.KernelLog), "network: 10.0.2.77/24 on ")
		assert.NotContains(t, string(res.KernelLog), "DHCP")
		assert.Contains(t, string(res.Output), "get: 200 OK 9 bytes")
	})
	t.Run("bad", func(t *testing.T) {
		res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Net: "user",
			Append: fmt.Sprintf("ip=10.0.2.300 -- -url http://10.0.2.2:%d/", port), Timeout: 60 * time.Second})
		require.NoError(t, err, "%s", res.Console)
		assert.Contains(t, string(res.KernelLog), "bad ip=10.0.2.300")
		assert.Contains(t, string(res.Output), "get: 200 OK 9 bytes", "a bad option falls back to DHCP")
	})
}

// TestNetLegacyDeviceSkipped gives the guest a virtio-net device with the
// modern interface turned off, which the driver cannot drive (virtio 1.x
// only): it must say so in the boot log and leave the program running
// with the loopback interface, which netloop uses.
func TestNetLegacyDeviceSkipped(t *testing.T) {
	img := filepath.Join(t.TempDir(), "netloop.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/netloop", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Timeout: 60 * time.Second, Extra: []string{
		"-netdev", "user,id=old", "-device", "virtio-net-pci,netdev=old,disable-modern=on,disable-legacy=off"}})
	require.NoError(t, err, "%s", res.Console)
	assert.Equal(t, 0, res.ExitCode, "%s", res.Console)
	log := string(res.KernelLog)
	assert.Contains(t, log, "1af4:1000")
	assert.Contains(t, log, "network: no virtio-net device (vendor 1af4, device 1041, or 1000 with modern capabilities); loopback only")
	assert.Contains(t, string(res.Output), "udp echo: \"ping\" -> \"PING\"")
}

// TestInterfacesWithNIC boots examples/ifaces on QEMU's user network: the
// guest lists its loopback interface and the NIC, with the address DHCP
// gave it, through route netlink.
func TestInterfacesWithNIC(t *testing.T) {
	img := filepath.Join(t.TempDir(), "ifaces.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/ifaces", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Net: "user", Timeout: 120 * time.Second})
	require.NoError(t, err, "%s", res.Console)
	require.Equal(t, 0, res.ExitCode, "%s", res.Console)
	out := string(res.Output)
	assert.Contains(t, out, "1 lo mtu 65536 flags up|loopback|running hwaddr \"\" addrs [127.0.0.1/8 ::1/128] same by index true, by name true\n")
	assert.Regexp(t, `\n2 eth0 mtu 1500 flags up\|broadcast\|multicast\|running hwaddr "52:54:00(:[0-9a-f]{2}){3}" addrs \[10\.0\.2\.15/24\] same by index true, by name true\n`, out)
	assert.Contains(t, out, "all addresses: [127.0.0.1/8 10.0.2.15/24 ::1/128]\n", "IPv4 addresses first, then IPv6, as Linux dumps them")
}

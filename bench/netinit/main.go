//go:build linux

// Command netinit is /init of the Linux side's network benchmark
// (tools/bench, `make bench`). It gives Debian's kernel the network that
// the gometal kernel sets up on its own, then runs the server:
//
//  1. it loads the virtio-net driver and the modules it needs with u-root's
//     kmodule, from /lib/modules/$(uname -r) (the initramfs holds only
//     those modules and their modules.dep);
//  2. it waits for eth0, gives it 10.0.2.15/24, brings lo and eth0 up and
//     adds a default route through 10.0.2.2: the gometal kernel's defaults,
//     which fit QEMU's user network;
//  3. it runs /server with its own arguments and environment, waits for it,
//     and writes the server's exit status to QEMU's isa-debug-exit port
//     through /dev/port, as bench/workload does (Linux panics when init
//     exits).
//
// It prints one line, "netinit: ...", with the time each step took.
package main

import (
	"fmt"
	"github.com/gometal/gometal/bench/internal/qexit"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"
	"unsafe"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"
)

// The guest's address, netmask and gateway: the gometal kernel's defaults
// (kernel/ring3/knet) for QEMU's user network.
var (
	addr    = netip.MustParseAddr("10.0.2.15")
	mask    = netip.MustParseAddr("255.255.255.0")
	gateway = netip.MustParseAddr("10.0.2.2")
)

const (
	nic    = "eth0"
	server = "/server"
)

func main() {
	start := time.Now()
	if err := loadModules(); err != nil {
		fail("loading modules: %v", err)
	}
	loaded := time.Since(start)
	if err := waitLink(nic, 10*time.Second); err != nil {
		fail("%v", err)
	}
	if err := configure(); err != nil {
		fail("configuring the network: %v", err)
	}
	fmt.Printf("netinit: %s loaded in %v, %s %v/24 up after %v\n",
		strings.Join(netModules, " and "), loaded.Round(time.Millisecond), nic, addr, time.Since(start).Round(time.Millisecond))
	cmd := exec.Command(server, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	code := 0
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "netinit: %s: %v\n", server, err)
		code = 1
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			code = ee.ExitCode()
		}
	}
	exit(code)
}

// fail reports a setup failure and ends the guest with status 3.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "netinit: "+format+"\n", args...)
	exit(3)
}

// netModules are what the virtio-net NIC needs: the PCI transport and the
// driver. u-root's kmodule resolves their dependencies from modules.dep
// (written by tools/bench, which chose the files) and loads them in order.
var netModules = []string{"virtio_pci", "virtio_net"}

// loadModules loads netModules and what they depend on.
func loadModules() error {
	opts := kmodule.ProbeOpts{IgnoreProcMods: true} // no /proc/modules to consult this early
	for _, m := range netModules {
		if err := kmodule.ProbeOptions(m, "", opts); err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
	}
	return nil
}

// waitLink waits until the interface exists: the driver's probe may run
// after its module's init returns.
func waitLink(name string, limit time.Duration) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(limit)
	for {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		err = unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after %v: %w", name, limit, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// configure brings lo up, gives the NIC its address and netmask, brings
// it up and adds the default route, with the classic ioctls.
func configure() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := up(fd, "lo"); err != nil {
		return err
	}
	for _, set := range []struct {
		req uint
		ip  netip.Addr
	}{{unix.SIOCSIFADDR, addr}, {unix.SIOCSIFNETMASK, mask}} {
		ifr, err := unix.NewIfreq(nic)
		if err != nil {
			return err
		}
		if err := ifr.SetInet4Addr(set.ip.AsSlice()); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, set.req, ifr); err != nil {
			return fmt.Errorf("%s: setting %v: %w", nic, set.ip, err)
		}
	}
	if err := up(fd, nic); err != nil {
		return err
	}
	return addDefaultRoute(fd, gateway)
}

// up sets IFF_UP on an interface.
func up(fd int, name string) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: up: %w", name, err)
	}
	return nil
}

// rtentry is struct rtentry of <linux/route.h> on amd64, the argument of
// SIOCADDRT.
type rtentry struct {
	pad1    uint64
	dst     unix.RawSockaddrInet4
	gateway unix.RawSockaddrInet4
	genmask unix.RawSockaddrInet4
	flags   uint16
	pad2    int16
	pad3    uint64
	pad4    uintptr
	metric  int16
	dev     *byte
	mtu     uint64
	window  uint64
	irtt    uint16
}

// addDefaultRoute adds 0.0.0.0/0 through gw.
func addDefaultRoute(fd int, gw netip.Addr) error {
	rt := rtentry{flags: unix.RTF_UP | unix.RTF_GATEWAY}
	rt.dst.Family = unix.AF_INET
	rt.genmask.Family = unix.AF_INET
	rt.gateway.Family = unix.AF_INET
	rt.gateway.Addr = gw.As4()
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCADDRT, uintptr(unsafe.Pointer(&rt))); errno != 0 {
		return fmt.Errorf("default route via %v: %w", gw, errno)
	}
	return nil
}

// exit ends the guest with status code (qexit.Exit).
func exit(code int) { qexit.Exit(code) }

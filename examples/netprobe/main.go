// Command netprobe drives the virtio-net NIC through gVisor's netstack:
// it opens the NIC (kernel/ring3/knet), builds a stack of its own (IPv4, ARP,
// UDP, TCP, ICMP) at 10.0.2.15/24 with QEMU's user-network gateway
// 10.0.2.2 as default route, and, given HOST:PORT, exchanges data over
// TCP with a server there:
//
//	-> "hello from gometal\n" and 128 KiB of a known pattern
//	<- one line, then 256 KiB of the pattern until the server closes
//
// It prints what it got and the NIC's counters, and exits 0 when all of
// it checks out. Without an argument it only opens the NIC. Boot it with
// the kernel option nonet, so that the kernel's own network stack leaves
// the NIC to it.
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/gometal/gometal/kernel/ring3/knet"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

const (
	sendBytes = 128 << 10
	recvBytes = 256 << 10
)

// pattern is the byte at offset i of either stream.
func pattern(i int) byte { return byte(i*7 + i>>8) }

func fail(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	nic, err := knet.OpenNIC()
	if err != nil {
		fail("open NIC: %v", err)
	}
	fmt.Printf("nic: MAC %s\n", nic.MAC())
	if len(os.Args) < 2 {
		printStats(nic)
		return
	}
	s := newStack(nic)
	if err := exchange(s, os.Args[1]); err != nil {
		printStats(nic)
		fail("%v", err)
	}
	printStats(nic)
	fmt.Println("done")
}

// newStack builds the stack on the NIC with the static configuration.
func newStack(nic *knet.NIC) *stack.Stack {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	if err := s.CreateNIC(1, nic.LinkEndpoint()); err != nil {
		fail("create NIC: %v", err)
	}
	addr := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{
		Address: tcpip.AddrFrom4([4]byte{10, 0, 2, 15}), PrefixLen: 24}}
	if err := s.AddProtocolAddress(1, addr, stack.AddressProperties{}); err != nil {
		fail("add address: %v", err)
	}
	s.SetRouteTable([]tcpip.Route{
		{Destination: addr.AddressWithPrefix.Subnet(), NIC: 1},
		{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4([4]byte{10, 0, 2, 2}), NIC: 1},
	})
	return s
}

// exchange runs the protocol of the package comment with hostport.
func exchange(s *stack.Stack, hostport string) error {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host).To4()
	port, err := strconv.Atoi(portStr)
	if ip == nil || err != nil {
		return fmt.Errorf("bad address %q", hostport)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, s, tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4([4]byte(ip)), Port: uint16(port)}, ipv4.ProtocolNumber)
	if err != nil {
		return fmt.Errorf("dial %s: %w", hostport, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(40 * time.Second))
	fmt.Printf("tcp: connected to %s\n", hostport)

	out := []byte("hello from gometal\n")
	for i := 0; i < sendBytes; i++ {
		out = append(out, pattern(i))
	}
	if _, err := c.Write(out); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	fmt.Printf("sent: hello line and %d bytes\n", sendBytes)

	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("read the reply line: %w", err)
	}
	fmt.Printf("reply: %s", line)
	n, bad := 0, -1
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Read(buf)
		for j := 0; j < k; j++ {
			if bad < 0 && buf[j] != pattern(n+j) {
				bad = n + j
			}
		}
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read after %d bytes: %w", n, err)
		}
	}
	if bad >= 0 {
		return fmt.Errorf("received %d bytes, first wrong byte at %d", n, bad)
	}
	fmt.Printf("received: %d bytes, pattern ok\n", n)
	if n != recvBytes {
		return fmt.Errorf("received %d bytes, want %d", n, recvBytes)
	}
	return nil
}

func printStats(nic *knet.NIC) {
	st := nic.Stats()
	fmt.Printf("stats: rx %d packets %d bytes, tx %d packets %d bytes, rx malformed %d, tx ring full %d, tx too long %d, device errors %d, interrupts rx %d tx %d config %d\n",
		st.RxPackets, st.RxBytes, st.TxPackets, st.TxBytes, st.RxMalformed, st.TxRingFull, st.TxTooLong, st.DeviceErrors,
		st.RxInterrupts, st.TxInterrupts, st.ConfigInterrupts)
}

package knet

import (
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/stretchr/testify/assert"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// TestAddrConversions: the kernel's 16-byte addresses (IPv4 mapped) as
// gVisor's endpoints take them, and back.
func TestAddrConversions(t *testing.T) {
	lo4 := abi.Addr{IP: mapped([4]byte{127, 0, 0, 1}), Port: 80}
	lo6 := abi.Addr{IP: [16]byte{15: 1}, Port: 80}
	v4 := &sock{family: abi.Family4}
	v6 := &sock{family: abi.Family6}

	assert.Equal(t, tcpip.FullAddress{Addr: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: 80}, v4.fullAddr(lo4))
	assert.Equal(t, tcpip.FullAddress{Addr: tcpip.AddrFrom16(lo4.IP), Port: 80}, v6.fullAddr(lo4), "mapped, for gVisor's dual stack to unwrap")
	assert.Equal(t, tcpip.FullAddress{Addr: tcpip.AddrFrom16(lo6.IP), Port: 80}, v6.fullAddr(lo6))
	for _, any := range []abi.Addr{{Port: 5}, {IP: mapped([4]byte{}), Port: 5}} {
		assert.True(t, unspecified(any))
		assert.Equal(t, tcpip.FullAddress{Port: 5}, v6.fullAddr(any), "the unspecified address is empty: dual-stack bind")
		assert.Equal(t, tcpip.FullAddress{Port: 5}, v4.fullAddr(any))
	}
	assert.False(t, unspecified(lo4))

	assert.Equal(t, lo4, fromFull(tcpip.FullAddress{Addr: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: 80}), "IPv4 peers come back mapped")
	assert.Equal(t, lo6, fromFull(tcpip.FullAddress{Addr: tcpip.AddrFrom16(lo6.IP), Port: 80}))
	assert.Equal(t, abi.Addr{Port: 7}, fromFull(tcpip.FullAddress{Port: 7}))
}

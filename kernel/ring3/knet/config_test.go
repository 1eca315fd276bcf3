package knet

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	c, err := parseConfig("quiet GOMAXPROCS=2 -- ip=1.2.3.4/8")
	require.NoError(t, err)
	assert.Equal(t, defaultConfig, c, "words after -- are the program's")
	assert.True(t, c.dhcp, "DHCP is the default")

	c, err = parseConfig("ip=192.168.1.9/16 gw=192.168.0.1")
	require.NoError(t, err)
	assert.False(t, c.dhcp)
	assert.Equal(t, netip.MustParsePrefix("192.168.1.9/16"), c.prefix)
	assert.Equal(t, netip.MustParseAddr("192.168.0.1"), c.gw)

	c, err = parseConfig("ip=10.0.2.20 ")
	require.NoError(t, err)
	assert.Equal(t, netip.MustParsePrefix("10.0.2.20/24"), c.prefix, "a bare address means /24")

	c, err = parseConfig("ip=dhcp nonet")
	require.NoError(t, err)
	assert.True(t, c.dhcp)
	assert.True(t, c.off)

	for _, bad := range []string{"ip=10.0.2.300", "ip=fe80::1/64", "gw=nope", "ip=10.0.0.5/24 gw=10.1.0.1"} {
		c, err := parseConfig(bad)
		assert.Error(t, err, bad)
		assert.Equal(t, defaultConfig, c, "%s: a bad option leaves the defaults", bad)
	}
}

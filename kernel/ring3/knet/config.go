package knet

import (
	"fmt"
	"net/netip"
	"strings"
)

// config is the network configuration from the kernel command line:
// ip=ADDR/PREFIX gw=ADDR for a static address, ip=dhcp (the default) to
// ask the network's DHCP server, nonet to run without a network (dns= is
// read by the kernel for /etc/resolv.conf). When DHCP gets no answer, the
// static defaults are those of QEMU's user networking (10.0.2.15/24 via
// 10.0.2.2).
type config struct {
	off    bool
	dhcp   bool
	prefix netip.Prefix // the interface address and its subnet
	gw     netip.Addr   // invalid: no default route
	dns    netip.Addr   // from DHCP; invalid: none
}

var defaultConfig = config{
	dhcp:   true,
	prefix: netip.MustParsePrefix("10.0.2.15/24"),
	gw:     netip.MustParseAddr("10.0.2.2"),
}

// parseConfig reads the options from the command line's words. Context:
// ring-3 kernel goroutine (package init).
func parseConfig(cmdline string) (config, error) {
	c := defaultConfig
	for _, w := range strings.Fields(cmdline) {
		if w == "--" {
			break
		}
		key, val, _ := strings.Cut(w, "=")
		switch key {
		case "nonet":
			c.off = true
		case "ip":
			if val == "dhcp" {
				c.dhcp = true
				continue
			}
			c.dhcp = false
			p, err := netip.ParsePrefix(val)
			if err != nil {
				a, err2 := netip.ParseAddr(val)
				if err2 != nil {
					return defaultConfig, fmt.Errorf("bad ip=%s: want an IPv4 address with a prefix length, e.g. ip=10.0.2.15/24", val)
				}
				p = netip.PrefixFrom(a, 24)
			}
			if !p.Addr().Is4() {
				return defaultConfig, fmt.Errorf("bad ip=%s: only IPv4 is supported", val)
			}
			c.prefix = p
		case "gw":
			a, err := netip.ParseAddr(val)
			if err != nil || !a.Is4() {
				return defaultConfig, fmt.Errorf("bad gw=%s: want an IPv4 address, e.g. gw=10.0.2.2", val)
			}
			c.gw = a
		}
	}
	if !c.dhcp && !c.prefix.Contains(c.gw) {
		return defaultConfig, fmt.Errorf("gateway %s is outside %s", c.gw, c.prefix.Masked())
	}
	return c, nil
}

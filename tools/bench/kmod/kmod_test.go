package kmod

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// depText is a modules.dep as depmod writes it for the virtio-net modules
// of Debian's 6.1 kernel (plus one unrelated module).
const depText = `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/net/core/failover.ko:
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko

# a comment
kernel/drivers/char/hw_random/virtio-rng.ko.xz: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
`

func TestParseDepAndClosure(t *testing.T) {
	d, err := ParseDep(strings.NewReader(depText))
	require.NoError(t, err)
	assert.Len(t, d, 9)
	assert.Empty(t, d["kernel/drivers/virtio/virtio.ko"])
	assert.Equal(t, []string{"kernel/net/core/failover.ko"}, d["kernel/drivers/net/net_failover.ko"])

	order, err := d.Closure("virtio_pci", "virtio-net")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"kernel/drivers/virtio/virtio.ko",
		"kernel/drivers/virtio/virtio_ring.ko",
		"kernel/drivers/virtio/virtio_pci_modern_dev.ko",
		"kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
		"kernel/drivers/virtio/virtio_pci.ko",
		"kernel/net/core/failover.ko",
		"kernel/drivers/net/net_failover.ko",
		"kernel/drivers/net/virtio_net.ko",
	}, order)
	assertLoadOrder(t, d, order)

	rng, ok := d.Find("virtio_rng")
	assert.True(t, ok)
	assert.Equal(t, "kernel/drivers/char/hw_random/virtio-rng.ko.xz", rng)
	_, err = d.Closure("e1000")
	assert.ErrorContains(t, err, "no module e1000")
}

// assertLoadOrder checks that every module comes after all it needs.
func assertLoadOrder(t *testing.T, d Deps, order []string) {
	pos := map[string]int{}
	for i, mod := range order {
		pos[mod] = i
	}
	assert.Len(t, pos, len(order), "a module is listed twice")
	for i, mod := range order {
		for _, dep := range d[mod] {
			j, ok := pos[dep]
			if assert.True(t, ok, "%s needs %s, which is not loaded", mod, dep) {
				assert.Less(t, j, i, "%s is loaded before %s, which it needs", mod, dep)
			}
		}
	}
}

func TestParseDepErrors(t *testing.T) {
	for _, bad := range []string{"kernel/a.ko kernel/b.ko\n", ": kernel/b.ko\n", "kernel/a b.ko: x\n"} {
		_, err := ParseDep(strings.NewReader(bad))
		assert.Error(t, err, "%q", bad)
	}
}

func TestOrderErrors(t *testing.T) {
	d := Deps{"a.ko": {"b.ko"}, "b.ko": {"c.ko"}, "c.ko": {"a.ko"}, "x.ko": {"missing.ko"}}
	_, err := d.Order("a.ko")
	assert.ErrorContains(t, err, "dependency cycle: a.ko -> b.ko -> c.ko -> a.ko")
	_, err = d.Order("x.ko")
	assert.ErrorContains(t, err, "x.ko needs missing.ko")
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/net/virtio_net.ko":               "virtio_net",
		"kernel/drivers/char/hw_random/virtio-rng.ko.xz": "virtio_rng",
		"a/b/c.ko.zst": "c",
		"c.ko.gz":      "c",
	} {
		assert.Equal(t, want, Name(in), in)
	}
}

func TestModinfoToDepFile(t *testing.T) {
	sec := []byte("license=GPL\x00depends=net_failover,virtio_ring,virtio\x00alias=virtio:d00000001v*\x00alias=x\x00intree=Y\x00name=virtio_net\x00")
	info := ParseModinfo(sec)
	assert.Equal(t, "virtio_net", info["name"])
	assert.Equal(t, "virtio:d00000001v*\nx", info["alias"])
	assert.Equal(t, []string{"net_failover", "virtio_ring", "virtio"}, Depends(info["depends"]))
	assert.Empty(t, Depends(""))

	d, err := FromModinfo(map[string][]string{
		"kernel/drivers/net/virtio_net.ko":     Depends(info["depends"]),
		"kernel/drivers/net/net_failover.ko":   {"failover"},
		"kernel/net/core/failover.ko":          nil,
		"kernel/drivers/virtio/virtio.ko":      nil,
		"kernel/drivers/virtio/virtio_ring.ko": nil,
	})
	require.NoError(t, err)
	order, err := d.Closure("virtio_net")
	require.NoError(t, err)
	assertLoadOrder(t, d, order)
	assert.Equal(t, "kernel/drivers/net/virtio_net.ko", order[len(order)-1])

	// Written as modules.dep and read back, it lists every dependency,
	// the last to be loaded first, and gives the same load order.
	text, err := d.Subset(order).Format()
	require.NoError(t, err)
	assert.Contains(t, string(text), "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n")
	assert.Contains(t, string(text), "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n")
	back, err := ParseDep(strings.NewReader(string(text)))
	require.NoError(t, err)
	again, err := back.Closure("virtio_net")
	require.NoError(t, err)
	assertLoadOrder(t, back, again)
	assert.ElementsMatch(t, order, again)

	_, err = FromModinfo(map[string][]string{"a.ko": {"nope"}})
	assert.ErrorContains(t, err, "a.ko depends on nope")
}

package knet

import "github.com/gometal/gometal/kernel/ring3/virtio"

// The link state: the STATUS field of the device configuration, read at
// open and again on each configuration-change interrupt.

// linkState reads the link status bit ("unknown" without the STATUS
// feature).
func (n *NIC) linkState() string {
	if n.features&virtio.NetFeatureStatus == 0 || len(n.devCfg) < 8 {
		return "unknown"
	}
	var s uint16
	n.deviceConfig(func() { s = virtio.Read16(n.devCfg, 6) })
	if s&1 != 0 {
		return "up"
	}
	return "down"
}

// configLoop logs link changes signalled by configuration interrupts.
// Context: ring-3 kernel goroutine.
func (n *NIC) configLoop() {
	last := n.linkState()
	for {
		c, err := n.cfgIRQ.wait()
		if err != nil {
			return
		}
		n.stats.cfgIRQ.add(c)
		if s := n.linkState(); s != last {
			logf("%s: link %s", n.name, s)
			last = s
		}
	}
}

// Package knet is the network: the virtio-net driver and gVisor's netstack,
// running as kernel goroutines (ring 3, ordinary Go) inside the program's
// runtime. The image build links it into programs that import package net.
package knet

import (
	_ "gvisor.dev/gvisor/pkg/tcpip/stack"
)

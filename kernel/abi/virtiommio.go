package abi

// VirtioMMIOPrefix starts the command-line word that announces a
// virtio-mmio device, as Linux reads it and Firecracker (or QEMU's microvm
// for Linux kernels) writes it: virtio_mmio.device=SIZE@BASE:IRQ[:ID].
const VirtioMMIOPrefix = "virtio_mmio.device="

// ParseVirtioMMIO parses the value after VirtioMMIOPrefix: SIZE is a
// number with an optional K, M or G suffix, BASE a number (0x for hex) and
// IRQ a decimal GSI; a trailing :ID (Linux's platform device ID) is
// ignored. Context: boot; does not allocate.
func ParseVirtioMMIO(v []byte) (base, size uint64, irq uint32, ok bool) {
	size, v, ok = number(v)
	if !ok || size == 0 {
		return 0, 0, 0, false
	}
	if len(v) > 0 {
		switch v[0] {
		case 'K', 'k':
			size, v = size<<10, v[1:]
		case 'M', 'm':
			size, v = size<<20, v[1:]
		case 'G', 'g':
			size, v = size<<30, v[1:]
		}
	}
	if len(v) == 0 || v[0] != '@' {
		return 0, 0, 0, false
	}
	base, v, ok = number(v[1:])
	if !ok || len(v) == 0 || v[0] != ':' {
		return 0, 0, 0, false
	}
	n, v, ok := number(v[1:])
	if !ok || n > 0xffffffff || (len(v) > 0 && v[0] != ':') {
		return 0, 0, 0, false
	}
	return base, size, uint32(n), true
}

// number parses a decimal or 0x-prefixed hexadecimal number at the start
// of v and returns it with the rest of v. Context: boot; does not
// allocate.
func number(v []byte) (n uint64, rest []byte, ok bool) {
	digits := 0
	if len(v) > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') {
		v = v[2:]
		for len(v) > 0 && digits < 16 {
			c := v[0]
			switch {
			case c >= '0' && c <= '9':
				n = n<<4 | uint64(c-'0')
			case c >= 'a' && c <= 'f':
				n = n<<4 | uint64(c-'a'+10)
			case c >= 'A' && c <= 'F':
				n = n<<4 | uint64(c-'A'+10)
			default:
				return n, v, digits > 0
			}
			v, digits = v[1:], digits+1
		}
		return n, v, digits > 0 && (len(v) == 0 || !isHex(v[0]))
	}
	for len(v) > 0 && v[0] >= '0' && v[0] <= '9' && digits < 19 {
		n = n*10 + uint64(v[0]-'0')
		v, digits = v[1:], digits+1
	}
	return n, v, digits > 0 && (len(v) == 0 || v[0] < '0' || v[0] > '9')
}

// isHex reports whether c is a hexadecimal digit. Context: any.
func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

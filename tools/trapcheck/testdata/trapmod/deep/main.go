// Command deep has a "trap entry" whose call chain needs more stack than
// the kernel stack has above its guard: trapcheck must fail it.
package main

// trapEntry is the root the tests check.
//
//go:noinline
func trapEntry(i int) byte {
	var buf [40 << 10]byte
	fill(buf[:], byte(i))
	return buf[i&0xff] + middle(i)
}

//go:noinline
func middle(i int) byte {
	var buf [30 << 10]byte
	fill(buf[:], byte(i))
	return buf[i&0xff]
}

//go:noinline
func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func main() { println(trapEntry(3)) }

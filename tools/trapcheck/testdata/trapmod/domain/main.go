// Command domain has entries for trapcheck's lock-domain walk
// (CheckDomain): files stands for the state a lock guards and gate for
// the function that takes that lock; cleanEntry reaches files only
// through gate, badCall calls into the domain two calls down, and
// badData names its variable directly.
package main

var (
	files [8]int // the domain's variable
	other int
)

// gate takes the lock, then touches the domain.
//
//go:noinline
func gate(i int) { files[i&7]++ }

// touchFiles is the domain's own code.
//
//go:noinline
func touchFiles(i int) { files[i&7] += 2 }

//go:noinline
func cleanEntry(i int) int {
	gate(i)
	other += i
	return other
}

//go:noinline
func badCall(i int) { helper(i) }

//go:noinline
func helper(i int) { touchFiles(i) }

//go:noinline
func badData(i int) int { return files[i&7] }

func main() { println(cleanEntry(1), badData(2)); badCall(3) }

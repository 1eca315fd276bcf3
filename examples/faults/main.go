// Command faults checks that hardware faults become ordinary, recoverable
// Go panics: a nil dereference, an integer division by zero, an index out
// of range.
package main

import (
	"fmt"
	"runtime/debug"
)

var (
	nilPtr *int
	zero   = 0
	index  = 5
)

func try(name string, f func()) {
	defer func() {
		fmt.Printf("%s: recovered: %v\n", name, recover())
	}()
	f()
}

func main() {
	debug.SetPanicOnFault(false)
	try("nil pointer", func() { *nilPtr = 1 })
	try("nil pointer read", func() { fmt.Println(*nilPtr) })
	try("divide by zero", func() { fmt.Println(10 / zero) })
	try("index", func() { s := []int{1, 2}; fmt.Println(s[index]) })
	done := make(chan bool)
	go func() {
		try("nil pointer in a goroutine", func() { *nilPtr = 2 })
		done <- true
	}()
	<-done
	fmt.Println("all faults recovered")
}

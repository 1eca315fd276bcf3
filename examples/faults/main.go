// Command faults checks that hardware faults become ordinary, recoverable
// Go panics: a nil dereference, an integer division by zero, an index out
// of range; under debug.SetPanicOnFault, writes to read-only memory (a
// PROT_READ mapping, the program's code) and a jump into data (which must
// not be executable), each reporting the faulting address; and a signal
// the program sends itself arrives through os/signal. It prints nothing
// that differs between runs (no addresses), so its output can be compared
// with a Linux host's.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"
	"unsafe"
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

	debug.SetPanicOnFault(true)
	ro, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Println("mmap:", err)
		os.Exit(1)
	}
	tryAddr("write to a read-only mapping", unsafe.Pointer(&ro[1]), func() { ro[1] = 1 })
	// The code is rewritten with its own first byte: if the write were
	// allowed, the program would go on unharmed and report it.
	code := (*byte)(reflect.ValueOf(target).UnsafePointer())
	tryAddr("write to code", unsafe.Pointer(code), func() { store(code, *code) })
	// Data hold RET instructions: if data were executable the calls would
	// return, and the program would report it.
	heap := make([]byte, 64)
	for i := range heap {
		heap[i], retData[i] = 0xc3, 0xc3
	}
	tryAddr("jump to heap data", unsafe.Pointer(&heap[0]), func() { call(unsafe.Pointer(&heap[0])) })
	tryAddr("jump to global data", unsafe.Pointer(&retData[0]), func() { call(unsafe.Pointer(&retData[0])) })
	runtime.KeepAlive(heap)
	debug.SetPanicOnFault(false)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		fmt.Println("kill:", err)
	}
	select {
	case s := <-sigs:
		fmt.Println("received", s)
	case <-time.After(10 * time.Second):
		fmt.Println("SIGUSR1 not received within 10 s")
	}
	signal.Stop(sigs)
	fmt.Println("all faults recovered")
}

// retData is data (not code) that call jumps to.
var retData [64]byte

//go:noinline
func target() int { return 42 }

// store writes v at p; not inlined, so the write is not optimized away.
//
//go:noinline
func store(p *byte, v byte) { *p = v }

// call calls the machine code at p as a func().
func call(p unsafe.Pointer) {
	fv := &struct{ code unsafe.Pointer }{p} // a func value points to its code pointer
	(*(*func())(unsafe.Pointer(&fv)))()
}

// tryAddr runs f, which must fault at addr, and prints the runtime error
// it panics with and whether the error's fault address is addr.
func tryAddr(name string, addr unsafe.Pointer, f func()) {
	defer func() {
		r := recover()
		err, ok := r.(runtime.Error)
		if r == nil {
			fmt.Printf("%s: no fault\n", name)
			return
		}
		if !ok {
			fmt.Printf("%s: recovered %T, not a runtime.Error: %v\n", name, r, r)
			return
		}
		a, ok := r.(interface{ Addr() uintptr })
		switch {
		case !ok:
			fmt.Printf("%s: %v, without a fault address\n", name, err)
		case a.Addr() != uintptr(addr):
			fmt.Printf("%s: %v, fault address differs from the address used\n", name, err)
		default:
			fmt.Printf("%s: %v, addr ok\n", name, err)
		}
	}()
	f()
}

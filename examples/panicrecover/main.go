// Command panicrecover panics and recovers in several ways and prints what
// recover saw: a string, a custom error (found again with errors.As), a
// runtime error from an out-of-range index, a re-panic, and a panic inside
// another goroutine.
package main

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// QuotaError is a custom error type carried by a panic.
type QuotaError struct {
	User  string
	Limit int
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("user %s is over quota (limit %d)", e.User, e.Limit)
}

// index is a variable, so the compiler cannot see that the index in
// outOfRange is out of range: the check happens at run time.
var index = 5

// try runs f and prints what it panicked with and what errors.As finds.
func try(name string, f func()) {
	defer func() {
		r := recover()
		fmt.Printf("%s: recovered %T: %v\n", name, r, r)
		if err, ok := r.(error); ok {
			var qe *QuotaError
			if errors.As(err, &qe) {
				fmt.Printf("%s: errors.As found user %q, limit %d\n", name, qe.User, qe.Limit)
			}
			var re runtime.Error
			fmt.Printf("%s: is runtime.Error: %v\n", name, errors.As(err, &re))
		}
	}()
	f()
}

func outOfRange() {
	s := []int{1, 2, 3}
	fmt.Println("unreachable", s[index])
}

func main() {
	try("string", func() { panic("something went wrong") })
	try("custom error", func() { panic(fmt.Errorf("request failed: %w", &QuotaError{User: "gopher", Limit: 10})) })
	try("index", outOfRange)
	try("re-panic", func() {
		defer func() {
			r := recover()
			panic(fmt.Sprintf("again after %v", r))
		}()
		panic("first")
	})
	try("deferred order", func() {
		for i := range 3 {
			defer fmt.Printf("deferred %d\n", i)
		}
		panic(42)
	})

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		try("goroutine", func() {
			var m map[string]int
			m["x"] = 1
		})
	}()
	wg.Wait()
	fmt.Println("main returns normally")
}

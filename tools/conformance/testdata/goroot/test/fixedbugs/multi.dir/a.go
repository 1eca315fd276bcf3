package a

import "runtime"

// F returns its own function name.
func F() string {
	pc, _, _, _ := runtime.Caller(0)
	return runtime.FuncForPC(pc).Name()
}

// Command app lives in a user's workspace that does not use the kernel module.
package main

import "example.com/worklib"

func main() { println(worklib.Greeting) }

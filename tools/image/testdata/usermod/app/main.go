// Command app lives in a module that does not require the kernel module.
package main

func main() { println("app") }

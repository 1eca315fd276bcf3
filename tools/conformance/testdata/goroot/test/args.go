// run -gcflags=-l extra.go arg1 'two words'

package main

func main() {}

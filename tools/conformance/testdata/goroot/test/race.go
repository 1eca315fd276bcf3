// run -race

package main

func main() {}

// Command direct imports the stand-in kernel itself, so a plain go build
// with the image link flags yields an unpatched image.
package main

import _ "example.com/stubmod/kernel"

func main() { println("direct") }

// skip

package main

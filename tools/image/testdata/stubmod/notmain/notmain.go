// Package notmain is not a command.
package notmain

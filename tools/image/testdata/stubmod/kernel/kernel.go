// Package kernel is a stand-in for gometal's kernel package.
package kernel

import _ "example.com/stubmod/boot" // keeps the boot stub linked

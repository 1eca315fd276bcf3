package b

import "./a"

// G calls a.F.
func G() string { return a.F() + " b.G" }

// Package hang has a test that never ends, for the stall report of
// "gometal test" (TestGotestStallReport).
package hang

package main

import "time"

// timeParse parses an RFC 3339 time.
func timeParse(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }

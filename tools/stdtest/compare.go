package stdtest

import "strings"

// ExcludedTest is a test left out of the comparison.
type ExcludedTest struct {
	Name     string
	Reason   string
	Detected bool   // found by DetectSpawn, not in the table
	Guest    Status // its outcome in the guest
}

// Missing is a test that passes on the host but not in the guest.
type Missing struct {
	Name   string
	Guest  Status // fail, skip, unfinished, or "" when it did not run
	Reason string // the first error line of its guest output
}

// Row is the comparison of one package.
type Row struct {
	Package     string
	Host, Guest PackageResult
	HostCounts  Counts
	GuestCounts Counts // the excluded tests left out
	Excluded    []ExcludedTest
	Missing     []Missing
	// Failures are the guest's failed and unfinished tests that are not
	// excluded, with their first error line.
	Failures []Missing
	// Reused is set when a stream came from an earlier capture (Reuse).
	Reused bool
}

// Compare compares the host's and the guest's results of one package,
// applying the exclusion table and DetectSpawn: an excluded test counts
// neither as a guest pass nor as a guest failure, and is listed with its
// reason. Missing lists, in the host's order, the tests that passed on
// the host and did not pass in the guest.
func Compare(host, guest PackageResult, table []Exclusion) Row {
	pkg := host.Package
	if pkg == "" {
		pkg = guest.Package
	}
	row := Row{Package: pkg, Host: host, Guest: guest, HostCounts: host.Counts()}
	excluded := map[string]bool{}
	exclude := func(name string, gt TestResult, ran bool) {
		if excluded[name] {
			return
		}
		reason, detected := Excluded(table, pkg, name), false
		if reason == "" && ran && gt.Status != Pass {
			reason = DetectSpawn(gt.Output)
			detected = reason != ""
		}
		if reason == "" {
			return
		}
		excluded[name] = true
		var st Status
		if ran {
			st = gt.Status
		}
		row.Excluded = append(row.Excluded, ExcludedTest{Name: name, Reason: reason, Detected: detected, Guest: st})
	}
	for _, ht := range host.Tests {
		gt, ran := guest.Test(ht.Name)
		exclude(ht.Name, gt, ran)
	}
	for _, gt := range guest.Tests {
		exclude(gt.Name, gt, true)
	}
	for _, gt := range guest.Tests {
		if excluded[gt.Name] {
			continue
		}
		switch gt.Status {
		case Pass:
			row.GuestCounts.Passed++
		case Skip:
			row.GuestCounts.Skipped++
		default:
			row.GuestCounts.Failed++
			row.Failures = append(row.Failures, Missing{Name: gt.Name, Guest: gt.Status, Reason: reasonOf(gt, guest)})
		}
	}
	for _, ht := range host.Tests {
		if ht.Status != Pass || excluded[ht.Name] {
			continue
		}
		gt, ran := guest.Test(ht.Name)
		switch {
		case !ran:
			row.Missing = append(row.Missing, Missing{Name: ht.Name, Reason: notRunReason(guest)})
		case gt.Status != Pass:
			row.Missing = append(row.Missing, Missing{Name: ht.Name, Guest: gt.Status, Reason: reasonOf(gt, guest)})
		}
	}
	return row
}

// reasonOf is the one-line reason of a test that did not pass in the
// guest: the first error line of its output, or for a test that did not
// finish, the package's.
func reasonOf(t TestResult, pkg PackageResult) string {
	r := FirstError(t.Output)
	if t.Status != Unfinished {
		if r == "" {
			return string(t.Status)
		}
		return r
	}
	if r == "" {
		r = FirstError(pkg.Output)
	}
	return strings.TrimSuffix("did not finish: "+r, ": ")
}

// notRunReason says why a test did not run in the guest at all.
func notRunReason(pkg PackageResult) string {
	switch pkg.Status {
	case BuildFail:
		return "build failed: " + FirstError(pkg.Output)
	case "":
		return "package did not finish: " + FirstError(pkg.Output)
	}
	if len(pkg.Tests) > 0 && pkg.Tests[len(pkg.Tests)-1].Status == Unfinished {
		return "did not run: the test binary stopped in " + pkg.Tests[len(pkg.Tests)-1].Name
	}
	if r := FirstError(pkg.Output); r != "" {
		return "did not run: " + r
	}
	return "did not run: not in the guest's test binary"
}

package bench

import "fmt"

// Samples collects measurements and n/a reasons per side and metric.
type Samples struct {
	vals map[string]map[string][]float64 // side -> key -> one value per repeat
	na   map[string]map[string]string    // side -> key -> why no value
}

// NewSamples returns an empty collection.
func NewSamples() *Samples {
	return &Samples{vals: map[string]map[string][]float64{}, na: map[string]map[string]string{}}
}

// Add records one measurement.
func (s *Samples) Add(side, key string, v float64) {
	if s.vals[side] == nil {
		s.vals[side] = map[string][]float64{}
	}
	s.vals[side][key] = append(s.vals[side][key], v)
}

// NA records why a side has no measurement of key in one repeat; the
// first reason is kept.
func (s *Samples) NA(side, key, reason string) {
	if s.na[side] == nil {
		s.na[side] = map[string]string{}
	}
	if _, ok := s.na[side][key]; !ok {
		s.na[side][key] = reason
	}
}

// Values returns the measurements of key on side.
func (s *Samples) Values(side, key string) []float64 { return s.vals[side][key] }

// Reason returns why side has no measurement of key, "" if none was given.
func (s *Samples) Reason(side, key string) string { return s.na[side][key] }

// Has reports whether side has a value or a reason for key.
func (s *Samples) Has(side, key string) bool {
	_, ok := s.na[side][key]
	return ok || len(s.vals[side][key]) > 0
}

// missing describes repeats that gave no value, for a note.
func (s *Samples) missing(side, key string, repeats int) string {
	got := len(s.vals[side][key])
	if got == 0 || got >= repeats || s.na[side][key] == "" {
		return ""
	}
	return fmt.Sprintf("%s: %d of %d repeats n/a (%s)", side, repeats-got, repeats, s.na[side][key])
}

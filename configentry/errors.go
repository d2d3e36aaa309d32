package configentry

import (
	"errors"
	"fmt"
	"strconv"
)

// FieldError is one broken rule of spec §5–§6, located by a Go-style field
// path such as `Routes[1].Match.HTTP` or `Failover["*"].Targets[0]`.
//
// Rule keeps Consul's wording so that messages stay recognisable to Consul
// users; only a location prefix that Consul writes into its message (such as
// `Route[1]` or `Bad Failover["*"]:`) is dropped, because Path carries it.
type FieldError struct {
	Path string
	Rule string
}

// Error renders "Path: Rule", or just Rule for an entry-wide failure.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Rule
	}
	return e.Path + ": " + e.Rule
}

// Unwrap classifies every FieldError as ErrInvalid, so callers (the HTTP
// layer mapping to 400) need not know the concrete type.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// violations collects FieldErrors in the order the rules are checked, which
// is what makes Validate's output deterministic.
type violations struct {
	errs []error
}

func (v *violations) add(path, rule string) {
	v.errs = append(v.errs, &FieldError{Path: path, Rule: rule})
}

func (v *violations) addf(path, format string, args ...any) {
	v.add(path, fmt.Sprintf(format, args...))
}

// err returns nil, the lone FieldError, or all of them joined.
func (v *violations) err() error {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return v.errs[0]
	default:
		return errors.Join(v.errs...)
	}
}

// Path builders; map keys are quoted so that `Subsets["v1"]` and
// `Failover["*"]` read unambiguously even for odd keys.

func pathIndex(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func pathKey(path, k string) string { return path + "[" + strconv.Quote(k) + "]" }

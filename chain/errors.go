package chain

import (
	"errors"
	"fmt"
)

// ErrCompile classifies every failure of Compile and ValidateWrite, so the
// HTTP layer can map them without knowing the concrete error types.
var ErrCompile = errors.New("chain: discovery chain does not compile")

// GraphError is a broken config-entry graph: the chain of service Chain does
// not compile, or (for ValidateWrite) a peer-exported chain is not peer-safe.
// Message is Consul's wording, verbatim, because users and tests match on it;
// Chain is kept apart so that callers can say which chain broke without
// altering that text.
type GraphError struct {
	Chain   string
	Message string
}

// Error returns Consul's message unchanged.
func (e *GraphError) Error() string { return e.Message }

// Unwrap classifies a GraphError as ErrCompile.
func (e *GraphError) Unwrap() error { return ErrCompile }

// graphErrorf builds the GraphError of chain.
func graphErrorf(chain, format string, args ...any) *GraphError {
	return &GraphError{Chain: chain, Message: fmt.Sprintf(format, args...)}
}

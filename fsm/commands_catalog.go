package fsm

import (
	"github.com/switchyard/switchyard/catalog"
)

// Catalog commands. Payloads are the JSON of the catalog request types.
//
// Version 1 of each: the request is normalised (catalog.RegisterRequest's
// Normalize) and applied in one transaction; a refused request changes
// nothing and reports the reason in ApplyResult.Err.
const (
	registerVersion      = 1
	deregisterVersion    = 1
	batchRegisterVersion = 1
)

// EncodeRegister builds a register command.
func EncodeRegister(req *catalog.RegisterRequest) ([]byte, error) {
	return encodeCommand(CommandRegister, registerVersion, req)
}

// EncodeDeregister builds a deregister command.
func EncodeDeregister(req *catalog.DeregisterRequest) ([]byte, error) {
	return encodeCommand(CommandDeregister, deregisterVersion, req)
}

// EncodeBatchRegister builds one command applying many register requests
// atomically: the first refused request refuses the whole batch. It exists
// for tests and benchmarks that need large catalogs quickly.
func EncodeBatchRegister(reqs []*catalog.RegisterRequest) ([]byte, error) {
	return encodeCommand(CommandBatchRegister, batchRegisterVersion, reqs)
}

func (f *FSM) applyRegister(idx uint64, version uint8, payload []byte) *ApplyResult {
	var req catalog.RegisterRequest
	decodePayload(CommandRegister, version, payload, &req)
	return f.catalogWrite(idx, func(tx *writeTxn) error { return registerTxn(tx, &req) })
}

func (f *FSM) applyDeregister(idx uint64, version uint8, payload []byte) *ApplyResult {
	var req catalog.DeregisterRequest
	decodePayload(CommandDeregister, version, payload, &req)
	return f.catalogWrite(idx, func(tx *writeTxn) error { return deregisterTxn(tx, &req) })
}

func (f *FSM) applyBatchRegister(idx uint64, version uint8, payload []byte) *ApplyResult {
	var reqs []*catalog.RegisterRequest
	decodePayload(CommandBatchRegister, version, payload, &reqs)
	return f.catalogWrite(idx, func(tx *writeTxn) error {
		for _, req := range reqs {
			if err := registerTxn(tx, req); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *FSM) catalogWrite(idx uint64, fn func(tx *writeTxn) error) *ApplyResult {
	err := f.State().write(idx, fn)
	return &ApplyResult{Index: idx, Ok: err == nil, Err: err}
}

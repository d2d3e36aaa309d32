package fsm

// Version 1 of SystemMetaSet: a key, a value, and whether an existing value
// must be kept. Ok reports whether the stored value now equals Value.
const systemMetaSetVersion = 1

type systemMetaPayload struct {
	Key          string
	Value        string
	OnlyIfAbsent bool `json:",omitempty"`
}

// EncodeSystemMetaSet builds a command storing key=value in the system
// metadata table.
func EncodeSystemMetaSet(key, value string, onlyIfAbsent bool) ([]byte, error) {
	return encodeCommand(CommandSystemMetaSet, systemMetaSetVersion, systemMetaPayload{Key: key, Value: value, OnlyIfAbsent: onlyIfAbsent})
}

func (f *FSM) applySystemMetaSet(idx uint64, version uint8, payload []byte) *ApplyResult {
	var p systemMetaPayload
	decodePayload(CommandSystemMetaSet, version, payload, &p)
	res := &ApplyResult{Index: idx}
	res.Err = f.State().write(idx, func(tx *writeTxn) error {
		ok, err := setMetaTxn(tx, p.Key, p.Value, p.OnlyIfAbsent)
		res.Ok = ok
		return err
	})
	if res.Err != nil {
		res.Ok = false
	}
	return res
}

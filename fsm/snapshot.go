package fsm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"

	"github.com/switchyard/switchyard/catalog"
	"github.com/switchyard/switchyard/configentry"
)

// Snapshot format, version 1:
//
//	header   "SWYDSNAP" | format version (uint16 BE) | reserved (uint16, 0)
//	records  type (1 byte) | payload length (uvarint) | payload (JSON)
//	trailer  0xFF | record count (uint64 BE) | CRC-32C (uint32 BE)
//
// The CRC covers every byte before it, header and trailer included, and
// nothing may follow it. Records are written while the memdb snapshot is
// iterated, so memory stays flat however big the state is. A reader that
// hits EOF before the trailer, a count or checksum that does not match, or
// trailing bytes refuses the snapshot: a torn file is never half-loaded.
//
// A new format version may add record types or change payloads; readers
// keep accepting every older version (see testdata/snapshot-v1.bin).

const (
	snapshotMagic = "SWYDSNAP"
	// snapshotVersion is the format this binary writes. Version 2 added
	// the system metadata table (record type 6), version 3 the peering
	// tables (record types 7 and 8).
	snapshotVersion uint16 = 3
	// minSnapshotVersion is the oldest format this binary reads.
	minSnapshotVersion uint16 = 1
	// maxRecordSize bounds one record so a corrupt length cannot make the
	// reader allocate gigabytes before the checksum catches it.
	maxRecordSize = 64 << 20
)

// Record types. Like command types they are forever: add, never reuse.
const (
	recordNode        byte = 1
	recordService     byte = 2
	recordCheck       byte = 3
	recordConfigEntry byte = 4
	recordIndex       byte = 5
	recordMeta        byte = 6
	recordPeering     byte = 7
	recordPeerSecrets byte = 8
	recordTrailer     byte = 0xFF
)

// ErrCorruptSnapshot classifies every refusal of a snapshot's contents.
var ErrCorruptSnapshot = errors.New("fsm: corrupt snapshot")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// configRecord carries an entry's Raft indexes beside its JSON form, so
// restoring does not depend on the entry decoder reading them.
type configRecord struct {
	CreateIndex uint64
	ModifyIndex uint64
	Entry       json.RawMessage
}

// Catalog rows are written and read through these method-less copies of
// their types. The JSON is the same field for field, but the HTTP-facing
// MarshalJSON (which only turns nil lists into []) is skipped: a nil list
// stays nil across a restore, and encoding costs one pass instead of two.
type (
	serviceRecord catalog.ServiceNode
	checkRecord   catalog.HealthCheck
)

// fsmSnapshot is a point-in-time view of the store waiting to be persisted.
type fsmSnapshot struct {
	db *memdb.MemDB
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(sink, s.db); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot; a memdb snapshot holds nothing to
// free.
func (s *fsmSnapshot) Release() {}

// tableRecords says which record type each table is written as, in the
// order they are written (nodes before the services that need them).
var tableRecords = []struct {
	table  string
	record byte
}{
	{tableNodes, recordNode},
	{tableServices, recordService},
	{tableChecks, recordCheck},
	{tableConfigEntries, recordConfigEntry},
	{tableIndex, recordIndex},
	{tableMeta, recordMeta},
	{tablePeerings, recordPeering},
	{tablePeeringSecrets, recordPeerSecrets},
}

// writeSnapshot streams db to w in the current format.
func writeSnapshot(w io.Writer, db *memdb.MemDB) error {
	crc := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 256<<10)
	var hdr [12]byte
	copy(hdr[:8], snapshotMagic)
	binary.BigEndian.PutUint16(hdr[8:], snapshotVersion)
	if _, err := bw.Write(hdr[:]); err != nil {
		return err
	}
	tx := db.Txn(false)
	defer tx.Abort()
	var count uint64
	for _, tr := range tableRecords {
		n, err := writeTable(bw, tx, tr.table, tr.record)
		if err != nil {
			return fmt.Errorf("fsm: snapshot of %s: %w", tr.table, err)
		}
		count += n
	}
	var trailer [9]byte
	trailer[0] = recordTrailer
	binary.BigEndian.PutUint64(trailer[1:], count)
	if _, err := bw.Write(trailer[:]); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	// The checksum is written past the hash so it does not cover itself.
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	_, err := w.Write(sum[:])
	return err
}

func writeTable(bw *bufio.Writer, tx *memdb.Txn, table string, record byte) (uint64, error) {
	it, err := tx.Get(table, indexID)
	if err != nil {
		return 0, err
	}
	var (
		n      uint64
		lenBuf [binary.MaxVarintLen64]byte
		enc    recordEncoder
	)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		payload, err := enc.encode(record, raw)
		if err != nil {
			return n, err
		}
		if err := bw.WriteByte(record); err != nil {
			return n, err
		}
		if _, err := bw.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(payload)))]); err != nil {
			return n, err
		}
		if _, err := bw.Write(payload); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// recordEncoder encodes records into one reused buffer; the payload it
// returns is valid until the next call.
type recordEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func (r *recordEncoder) encode(record byte, obj any) ([]byte, error) {
	if r.enc == nil {
		r.enc = json.NewEncoder(&r.buf)
		// Escaping <, > and & only matters for JSON embedded in HTML.
		r.enc.SetEscapeHTML(false)
	}
	switch record {
	case recordService:
		obj = (*serviceRecord)(obj.(*catalog.ServiceNode))
	case recordCheck:
		obj = (*checkRecord)(obj.(*catalog.HealthCheck))
	case recordConfigEntry:
		e := obj.(configentry.Entry)
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		ri := e.GetRaftIndex()
		obj = configRecord{CreateIndex: ri.CreateIndex, ModifyIndex: ri.ModifyIndex, Entry: raw}
	}
	r.buf.Reset()
	if err := r.enc.Encode(obj); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(r.buf.Bytes(), []byte("\n")), nil
}

// snapshotReader reads a snapshot while hashing exactly the bytes consumed
// (the bufio read-ahead must not reach the hash).
type snapshotReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	one [1]byte // hashes a single byte without allocating
}

func (s *snapshotReader) ReadByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == nil {
		s.one[0] = b
		s.crc.Write(s.one[:])
	}
	return b, err
}

func (s *snapshotReader) readFull(p []byte) error {
	if _, err := io.ReadFull(s.r, p); err != nil {
		return err
	}
	s.crc.Write(p)
	return nil
}

// corrupt wraps a reading failure; EOF anywhere before the end means the
// snapshot was cut short.
func corrupt(err error, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated: %s", ErrCorruptSnapshot, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%w: %s: %v", ErrCorruptSnapshot, fmt.Sprintf(format, args...), err)
}

// readSnapshot loads a snapshot into a new store, committing it only after
// the trailer and checksum have been verified. Decoding and inserting run
// on two goroutines, since each takes about half of the time.
func readSnapshot(r io.Reader) (*Store, error) {
	sr := &snapshotReader{r: bufio.NewReaderSize(r, 256<<10), crc: crc32.New(crcTable)}
	if err := readHeader(sr); err != nil {
		return nil, err
	}
	store := NewStore()
	tx := store.db.Txn(true)
	defer tx.Abort()
	batches := make(chan []decodedRecord, 4)
	stop := make(chan struct{})
	decodeErr := make(chan error, 1)
	go func() {
		defer close(batches)
		decodeErr <- decodeRecords(sr, batches, stop)
	}()
	insertErr := insertRecords(tx, batches)
	close(stop)
	for range batches {
		// Drain until the decoder has seen stop and exited.
	}
	if err := <-decodeErr; err != nil {
		return nil, err
	}
	if insertErr != nil {
		return nil, insertErr
	}
	tx.Commit()
	return store, nil
}

type decodedRecord struct {
	table string
	obj   any
}

// decodeRecords reads and decodes records up to and including the trailer,
// sending them in batches. It stops early when stop closes.
func decodeRecords(sr *snapshotReader, out chan<- []decodedRecord, stop <-chan struct{}) error {
	const batchSize = 512
	var (
		count uint64
		batch = make([]decodedRecord, 0, batchSize)
	)
	send := func() bool {
		select {
		case out <- batch:
			batch = make([]decodedRecord, 0, batchSize)
			return true
		case <-stop:
			return false
		}
	}
	for {
		record, err := sr.ReadByte()
		if err != nil {
			return corrupt(err, "reading record %d", count+1)
		}
		if record == recordTrailer {
			break
		}
		table, obj, err := readRecord(sr, record)
		if err != nil {
			return fmt.Errorf("%w (record %d)", err, count+1)
		}
		count++
		if batch = append(batch, decodedRecord{table, obj}); len(batch) == batchSize && !send() {
			return nil
		}
	}
	if err := readTrailer(sr, count); err != nil {
		return err
	}
	if len(batch) > 0 {
		send()
	}
	return nil
}

// insertRecords inserts decoded records into tx until the decoder is done
// or an insert fails.
func insertRecords(tx *memdb.Txn, batches <-chan []decodedRecord) error {
	for batch := range batches {
		for _, rec := range batch {
			if err := tx.Insert(rec.table, rec.obj); err != nil {
				return fmt.Errorf("%w: restoring %s: %v", ErrCorruptSnapshot, rec.table, err)
			}
		}
	}
	return nil
}

func readHeader(sr *snapshotReader) error {
	var hdr [12]byte
	if err := sr.readFull(hdr[:]); err != nil {
		return corrupt(err, "reading header")
	}
	if string(hdr[:8]) != snapshotMagic {
		return fmt.Errorf("%w: not a switchyard snapshot (bad magic %q)", ErrCorruptSnapshot, hdr[:8])
	}
	v := binary.BigEndian.Uint16(hdr[8:])
	if v < minSnapshotVersion || v > snapshotVersion {
		return fmt.Errorf("fsm: snapshot format version %d is not supported (this binary reads %d to %d)",
			v, minSnapshotVersion, snapshotVersion)
	}
	return nil
}

func readTrailer(sr *snapshotReader, count uint64) error {
	var cnt [8]byte
	if err := sr.readFull(cnt[:]); err != nil {
		return corrupt(err, "reading trailer")
	}
	if want := binary.BigEndian.Uint64(cnt[:]); want != count {
		return fmt.Errorf("%w: trailer counts %d records, read %d", ErrCorruptSnapshot, want, count)
	}
	computed := sr.crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(sr.r, sum[:]); err != nil {
		return corrupt(err, "reading checksum")
	}
	if got := binary.BigEndian.Uint32(sum[:]); got != computed {
		return fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorruptSnapshot, got, computed)
	}
	if _, err := sr.r.ReadByte(); err != io.EOF {
		return fmt.Errorf("%w: data after the trailer", ErrCorruptSnapshot)
	}
	return nil
}

func readRecord(sr *snapshotReader, record byte) (string, any, error) {
	n, err := binary.ReadUvarint(sr)
	if err != nil {
		return "", nil, corrupt(err, "reading record length")
	}
	if n > maxRecordSize {
		return "", nil, fmt.Errorf("%w: record of %d bytes exceeds the %d byte limit", ErrCorruptSnapshot, n, maxRecordSize)
	}
	payload := make([]byte, n)
	if err := sr.readFull(payload); err != nil {
		return "", nil, corrupt(err, "reading record payload")
	}
	table, obj, err := decodeRecord(record, payload)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrCorruptSnapshot, err)
	}
	return table, obj, nil
}

func decodeRecord(record byte, payload []byte) (string, any, error) {
	var (
		table string
		obj   any
	)
	switch record {
	case recordNode:
		table, obj = tableNodes, &catalog.Node{}
	case recordService:
		table, obj = tableServices, &serviceRecord{}
	case recordCheck:
		table, obj = tableChecks, &checkRecord{}
	case recordIndex:
		table, obj = tableIndex, &indexEntry{}
	case recordMeta:
		table, obj = tableMeta, &MetaEntry{}
	case recordPeering:
		table, obj = tablePeerings, &Peering{}
	case recordPeerSecrets:
		table, obj = tablePeeringSecrets, &PeeringSecrets{}
	case recordConfigEntry:
		e, err := decodeConfigRecord(payload)
		return tableConfigEntries, e, err
	default:
		return "", nil, fmt.Errorf("unknown record type %d", record)
	}
	if err := json.Unmarshal(payload, obj); err != nil {
		return "", nil, fmt.Errorf("decoding %s record: %v", table, err)
	}
	switch rec := obj.(type) {
	case *serviceRecord:
		obj = (*catalog.ServiceNode)(rec)
	case *checkRecord:
		obj = (*catalog.HealthCheck)(rec)
	}
	return table, obj, nil
}

func decodeConfigRecord(payload []byte) (configentry.Entry, error) {
	var rec configRecord
	if err := json.Unmarshal(payload, &rec); err != nil {
		return nil, fmt.Errorf("decoding config entry record: %v", err)
	}
	e, err := configentry.DecodeJSON(rec.Entry)
	if err != nil {
		return nil, fmt.Errorf("decoding config entry: %v", err)
	}
	ri := e.GetRaftIndex()
	ri.CreateIndex, ri.ModifyIndex = rec.CreateIndex, rec.ModifyIndex
	return e, nil
}

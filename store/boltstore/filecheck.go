package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"os"
)

// bbolt's file format (version 2), as far as checkFile reads it: every page
// starts with a 16-byte header; pages 0 and 1 hold a meta record each, the
// one with the higher transaction id that validates is current. Fields are
// in the machine's byte order.
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeaderSize  = 16
	metaChecksumAt  = 56 // magic, version, pageSize, flags, root(16), freelist, pgid, txid
	metaSize        = metaChecksumAt + 8
	minBoltPageSize = 1024
	maxBoltPageSize = 1024 << 14
)

// boltMeta is the part of a meta record checkFile needs.
type boltMeta struct {
	pageSize uint32
	pgid     uint64 // high-water mark: pages [0, pgid) must exist in the file
	txid     uint64
}

// checkFile looks at an existing store file before bbolt maps it. bbolt
// trusts the file: pages beyond the end of a truncated file crash the
// process (SIGBUS/SIGSEGV, or a panic in a goroutine it starts while
// rebuilding the free list), which no recover catches. A missing file is
// fine (Open creates it); an empty one is logged, since it usually means
// the data was lost before calsync started.
func checkFile(path string, log *slog.Logger) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return explainOpenError(path, 0, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("boltstore: stat %s: %w", path, err)
	}
	size := info.Size()
	if size == 0 {
		log.Warn("boltstore: the store file is empty (0 bytes); starting a new store in it, and calsync rebuilds the calendars from Exchange. If it held data, it was emptied outside calsync (disk full, a copy cut short): restore it from a backup to keep pending webhooks", "path", path)
		return nil
	}
	meta, err := currentMeta(f, size)
	if err != nil {
		return fmt.Errorf("%w: %s (%d bytes) has no valid bbolt meta page (%w); move the file aside and restart calsync, which rebuilds the store from Exchange (pending webhooks in it are lost)", ErrCorrupt, path, size, err)
	}
	if need := int64(meta.pgid) * int64(meta.pageSize); size < need {
		return fmt.Errorf("%w: %s is truncated: %d bytes, its last transaction needs %d; move the file aside and restart calsync, which rebuilds the store from Exchange (pending webhooks in it are lost), or restore it from a backup", ErrCorrupt, path, size, need)
	}
	return nil
}

// currentMeta finds the meta record bbolt would use.
func currentMeta(f io.ReaderAt, size int64) (boltMeta, error) {
	first, err0 := readMeta(f, 0)
	pageSize := int64(first.pageSize)
	if err0 != nil {
		// Page 0 is damaged: find page 1 at every possible page size.
		pageSize = 0
		for ps := int64(minBoltPageSize); ps <= maxBoltPageSize && ps+metaSize+pageHeaderSize <= size; ps <<= 1 {
			if m, err := readMeta(f, ps); err == nil && int64(m.pageSize) == ps {
				return m, nil
			}
		}
		return boltMeta{}, err0
	}
	second, err1 := readMeta(f, pageSize)
	if err1 == nil && second.txid > first.txid {
		return second, nil
	}
	return first, nil
}

// readMeta reads and validates the meta record of the page at off.
func readMeta(f io.ReaderAt, off int64) (boltMeta, error) {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(buf, off); err != nil {
		return boltMeta{}, fmt.Errorf("reading the meta page at byte %d: %w", off, err)
	}
	m := buf[pageHeaderSize:]
	order := binary.NativeEndian
	if order.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, fmt.Errorf("no bbolt magic number at byte %d", off)
	}
	if v := order.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt file format version %d at byte %d, want %d", v, off, boltVersion)
	}
	h := fnv.New64a()
	_, _ = h.Write(m[:metaChecksumAt])
	if h.Sum64() != order.Uint64(m[metaChecksumAt:]) {
		return boltMeta{}, fmt.Errorf("checksum mismatch in the meta page at byte %d", off)
	}
	meta := boltMeta{pageSize: order.Uint32(m[8:]), pgid: order.Uint64(m[40:]), txid: order.Uint64(m[48:])}
	if meta.pageSize < minBoltPageSize || meta.pageSize > maxBoltPageSize || meta.pageSize&(meta.pageSize-1) != 0 {
		return boltMeta{}, fmt.Errorf("impossible page size %d at byte %d", meta.pageSize, off)
	}
	return meta, nil
}

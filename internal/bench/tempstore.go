package bench

import (
	"os"
	"path/filepath"

	"github.com/calsync/calsync/store/boltstore"
)

// tempStore opens a bolt store in a new temporary folder named after
// prefix, without fsync (a bench measures the engine, not the disk).
// closeStore closes the store and removes the folder.
func tempStore(prefix string) (st *boltstore.Store, closeStore func(), err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, nil, err
	}
	st, err = boltstore.Open(filepath.Join(dir, "calsync.db"), boltstore.Options{NoSync: true})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	return st, func() { _ = st.Close(); _ = os.RemoveAll(dir) }, nil
}

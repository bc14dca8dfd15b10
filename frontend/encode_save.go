package frontend

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/effc/effc/ir"
)

// Save encodes g (see Encode) and writes it to path atomically: the model
// goes to a temporary file in path's folder that is renamed over path once
// complete, so a failure leaves path as it was and no partial file behind.
// The file is created with mode 0644.
func Save(g *ir.Graph, path string) error {
	data, err := Encode(g)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	tmp := f.Name()
	err = writeAndClose(f, data)
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// writeAndClose writes data to f, flushes it to disk and closes f; the
// first error wins.
func writeAndClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

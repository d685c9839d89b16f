package harvester

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// fileID is a file's identity: device and inode. A rename keeps it; a new
// file at the same path gets a new one.
type fileID struct {
	Dev uint64
	Ino uint64
}

func (id fileID) String() string { return fmt.Sprintf("%d:%d", id.Dev, id.Ino) }

// statOf returns the identity and link count behind fi, which must come
// from os.Stat, os.Lstat or File.Stat on a Unix system.
func statOf(fi fs.FileInfo) (fileID, uint64, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return fileID{}, 0, fmt.Errorf("%s: no device/inode information on this platform", fi.Name())
	}
	return fileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}, uint64(st.Nlink), nil
}

// idOfPath stats path (following symlinks) and returns its identity.
func idOfPath(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id, _, err := statOf(fi)
	return id, err
}

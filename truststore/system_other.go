//go:build !linux

package truststore

import (
	"fmt"
	"runtime"
)

// systemStore reports that this OS's system store is not handled yet: the NSS databases
// still work where certutil is installed. A new OS gets a system_GOOS.go beside
// system_linux.go with the same function.
func systemStore() store {
	return unsupportedStore{fmt.Errorf("failed to use the system trust store on %s: %w", runtime.GOOS, ErrUnsupported)}
}

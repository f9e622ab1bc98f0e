//go:build unix

package truststore

import (
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// foreignOwner names the user who owns path when it is not this process's user (a
// Firefox profile once started with sudo belongs to root, and certutil then finds it
// read-only); empty when it is ours or cannot be told.
func foreignOwner(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == os.Geteuid() {
		return ""
	}
	if u, err := user.LookupId(strconv.Itoa(int(st.Uid))); err == nil {
		return u.Username
	}
	return strconv.Itoa(int(st.Uid))
}

// currentUser is this process's user name, for a chown command; "$USER" when unknown.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "$USER"
}

//go:build !unix

package truststore

// foreignOwner cannot tell owners on this OS: no file is said to be another user's.
func foreignOwner(string) string { return "" }

func currentUser() string { return "" }

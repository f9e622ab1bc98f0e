// Package directory reads, writes, signs and verifies notary directories: a signed list
// of .notary bundles with who runs each notary, where and on which network, and picks
// from one the notaries that are most independent of each other. Standard library and
// notary/protocol only: the notary binary and the app share it.
package directory

// Package e2e holds the attack scenarios: the real binaries in network namespaces that
// give the client, each notary and each site its own view of the network (issue 7).
package e2e

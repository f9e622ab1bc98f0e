// Package loadrig holds the load tests' rigs: the real proxy and a real notary on
// loopback with their sites and clients, a concurrent driver, and a resource baseline.
package loadrig

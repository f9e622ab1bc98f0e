// Package loadtest drives the local proxy and the notary with many concurrent loopback
// clients and checks that goroutines, open files and heap return to their baseline.
//
// It holds only benchmarks (BenchmarkLoad..., run by make bench) and a small-scale test
// of the same rigs (run by make test); the rigs are internal/testsupport/loadrig, and
// nothing imports this package. docs/RELIABILITY.md has the figures.
package loadtest
